#!/usr/bin/env bash
# Container entry point (deploy/Dockerfile).
#   rasa      (default) the Rasa server on 0.0.0.0:${RASA_PORT:-5005}
#   actions   the action server on 0.0.0.0:${ACTION_PORT:-5055}
#   worker    the hand-off worker (handoff/worker.py): sends what the action servers record
#   web       the chat page and the insights on 0.0.0.0:${WEB_PORT:-8080}
#   anything else is run as a command
# Same environment variables as scripts/run (docs/production.md). Secrets stay in
# the environment: the generated files only hold ${VAR} references.
set -euo pipefail
cd /app
CONFIG_DIR=${CONFIG_DIR:-/tmp/rasa-config}
mkdir -p "$CONFIG_DIR"

case "${1:-rasa}" in
  rasa)
    python -m config.endpoints --out "$CONFIG_DIR/endpoints.yml" \
      --check --wait "${STORE_WAIT:-120}"
    python -m config.credentials --base credentials.yml --out "$CONFIG_DIR/credentials.yml"
    args=(run --model models/assistant.tar.gz --endpoints "$CONFIG_DIR/endpoints.yml"
          --credentials "$CONFIG_DIR/credentials.yml" --interface 0.0.0.0
          --port "${RASA_PORT:-5005}")
    # The HTTP API only with a token; CORS only for the origins listed (make_endpoints.py
    # above refuses "*").
    [ -n "${RASA_AUTH_TOKEN:-}" ] && args+=(--enable-api --auth-token "$RASA_AUTH_TOKEN")
    # shellcheck disable=SC2206 # a space-separated list of origins
    [ -n "${CORS_ORIGINS:-}" ] && args+=(--cors ${CORS_ORIGINS})
    exec rasa "${args[@]}"
    ;;
  actions)
    exec rasa run actions --port "${ACTION_PORT:-5055}"
    ;;
  worker)
    exec python -m handoff.worker
    ;;
  web)
    # The insights read the tracker store Rasa writes: the same endpoints file, from DB_*.
    python -m config.endpoints --out "$CONFIG_DIR/endpoints.yml"
    export INSIGHTS_ENDPOINTS=${INSIGHTS_ENDPOINTS:-$CONFIG_DIR/endpoints.yml}
    exec python web/app.py --host 0.0.0.0 --port "${WEB_PORT:-8080}"
    ;;
  *)
    exec "$@"
    ;;
esac
