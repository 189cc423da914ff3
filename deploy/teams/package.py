#!/usr/bin/env python3
"""Builds the Teams app package (a zip to upload to Teams) from manifest.json.

    TEAMS_APP_ID=<Microsoft App ID of the Azure Bot> python3 deploy/teams/package.py [out.zip]

Puts the bot's app id into `id` and `bots[0].botId` (the placeholder
00000000-0000-0000-0000-000000000000) and zips manifest.json with the icons.
Default output: build/teams-app.zip. Standard library only.
"""
import json
import os
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def main() -> int:
    app_id = os.environ.get("TEAMS_APP_ID", "")
    if not GUID.match(app_id):
        print("Set TEAMS_APP_ID to the Azure Bot's Microsoft App ID (a GUID).", file=sys.stderr)
        return 2
    manifest = json.loads((HERE / "manifest.json").read_text())
    if manifest["id"] == PLACEHOLDER:
        manifest["id"] = app_id
    for bot in manifest["bots"]:
        if bot["botId"] == PLACEHOLDER:
            bot["botId"] = app_id
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[1] / "build" / "teams-app.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(manifest, indent=2))
        for icon in (manifest["icons"]["color"], manifest["icons"]["outline"]):
            z.write(HERE / icon, icon)
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
