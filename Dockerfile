# torn in a container: Debian 12 with everything scripts/deps.sh installs,
# torn built and installed (/usr/local/bin/torn), the source tree kept in
# /opt/torn so `make test` also runs inside.
#
#   docker build -t torn .
#   docker run --rm torn run --target file:naive --scenario crash-midwrite
#   # torn-fs (power-loss, io-errors, --fs torn) needs the FUSE device:
#   docker run --rm --device /dev/fuse --cap-add SYS_ADMIN torn run --target file:durable
#
# Without /dev/fuse and CAP_SYS_ADMIN the torn-fs scenarios are skipped
# with a note (an ERROR when named with --scenario), never a hang.
# TORN_DEPS_SKIP leaves packages out (chromium is only for the HTML report
# tests of make test).
FROM debian:12
ARG TORN_DEPS_SKIP=""
ENV DEBIAN_FRONTEND=noninteractive
COPY . /opt/torn
WORKDIR /opt/torn
RUN TORN_DEPS_SKIP="$TORN_DEPS_SKIP" scripts/deps.sh \
    && make -j"$(nproc)" \
    && make install PREFIX=/usr/local \
    && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["torn"]
CMD ["--help"]
