# A Django project served by Hurricane. This file is a template: it builds
# the demo in examples/demo by default, and any project laid out like it
# (manage.py and requirements.txt at the top of one directory) with
#
#   docker build --build-arg PROJECT=path/in/context -t myapp .
#
# Stamp the version "hurricane version" reports with
#
#   docker build --build-arg VERSION=1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg DATE=$(git log -1 --format=%cI) -t myapp .
#
# docs/kubernetes.md ("Container image") explains each choice.

# Stage 1: the hurricane binary. Built on the build machine's platform and
# cross-compiled for the target's, so a multi-platform build (buildx
# --platform linux/amd64,linux/arm64) needs no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
# Modules before the sources: this layer is rebuilt only when they change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
ARG COMMIT=""
ARG DATE=""
# CGO_ENABLED=0: static, so no libc of the runtime image matters.
# -trimpath: no paths of this machine in the binary. -buildvcs=false: .git is
# not in the context (.dockerignore); COMMIT says which commit it was.
# -X: buildinfo's stamps; left empty they fall back to "dev" and "unknown".
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false \
      -ldflags "-s -w \
        -X github.com/hurricane-run/hurricane/buildinfo.version=${VERSION} \
        -X github.com/hurricane-run/hurricane/buildinfo.commit=${COMMIT} \
        -X github.com/hurricane-run/hurricane/buildinfo.date=${DATE}" \
      -o /out/hurricane .

# Stage 2: Python, the project and its requirements, and the binary.
FROM python:3.11-slim-bookworm
# The Django project to serve, a directory of the build context.
ARG PROJECT=examples/demo
# No .pyc writes at run time: the app user cannot write /app (and in
# Kubernetes the root filesystem is read-only); compileall below writes them
# once. XDG_CACHE_HOME: hurricane extracts its Python package there at start.
# DEMO_DB_PATH: where the demo keeps its SQLite file (other projects ignore it).
ENV PYTHONDONTWRITEBYTECODE=1 \
    XDG_CACHE_HOME=/tmp/cache \
    DEMO_DB_PATH=/tmp/demo.sqlite3
# A fixed numeric UID, so Kubernetes' runAsNonRoot can check it.
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /tmp app
WORKDIR /app
# Requirements before the code: pip runs again only when they change.
COPY ${PROJECT}/requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY ${PROJECT} ./
# collectstatic for --static (remove it if the project has no
# django.contrib.staticfiles); the files stay root-owned and read-only.
RUN python -m compileall -q . && python manage.py collectstatic --noinput
COPY --from=build /out/hurricane /usr/local/bin/hurricane
USER 10001:10001
# The app port and the probe port (--port + 1: probes and /metrics).
EXPOSE 8000 8001
# Liveness, not readiness: a database outage should not mark the container
# unhealthy. "hurricane probe" needs no shell and no Python; it asks port
# 8001 unless told --probe-port. --start-period covers migrations.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["hurricane", "probe", "liveness", "--timeout", "3s"]
# Exec form: hurricane is PID 1. As PID 1 it runs itself again as its child,
# forwards signals to it and reaps orphaned processes (package reap), so no
# tini is needed.
ENTRYPOINT ["hurricane"]
# --check-migrations-apply: the demo's SQLite starts empty. Override the
# arguments as you like: docker run IMAGE serve --processes 2
CMD ["serve", "--static", "--check-migrations-apply"]
