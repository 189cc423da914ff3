# Local stand-in for nginx:1.27: Debian's nginx with the official image's layout
# (/etc/nginx/conf.d/*.conf included, logs to the container's stdout / stderr,
# nothing else listening). Debian bookworm has nginx 1.22, so deploy/nginx/compose.conf
# keeps to what 1.22 and 1.27 both understand. Built by build.sh.
ARG DEBIAN_IMAGE
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
