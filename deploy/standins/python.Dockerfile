# Local stand-in for python:3.10-slim-bookworm (no registry here): Debian bookworm plus
# this machine's CPython 3.10 build (pyenv's, compiled on bookworm), at /usr/local like
# the official image. Built by build.sh; the context holds that interpreter as python/.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
# The shared libraries that CPython's extension modules link (ssl, sqlite3, ctypes, ...).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libssl3 libsqlite3-0 libffi8 liblzma5 libbz2-1.0 libreadline8 \
      libncursesw6 libuuid1 zlib1g libexpat1 libtirpc3 libnsl2 \
 && rm -rf /var/lib/apt/lists/*
COPY python/ /usr/local/
# pyenv wrote its own prefix into the scripts' shebangs; libpython is found via ldconfig.
RUN sed -i '1s|^#!.*/bin/python3\.10$|#!/usr/local/bin/python3.10|' /usr/local/bin/pip* /usr/local/bin/pydoc* /usr/local/bin/2to3* \
 && ldconfig \
 && python3 -c 'import ssl, sqlite3, ctypes, lzma, bz2, sys; assert sys.version_info[:2] == (3, 10); print(sys.version)' \
 && pip --version
ENV LANG=C.UTF-8
CMD ["python3"]
