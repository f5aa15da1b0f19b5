# A Chroma node for chroma-ha (chroma-primary, chroma-replica, ...): the official image, pinned to an exact
# 1.x release, with the data path set explicitly.
#
# 1.0.5 is the release our tests run against (the npm binding chromadb-js-bindings 1.0.5), and its v2 API has
# exactly the routes the gateway's route table knows. Later 1.x releases add routes (search, functions, ...)
# that the gateway refuses (501) until they are classified: check docs/chroma-notes.md before moving the tag.
# This image has no authentication (Chroma 1.x has none): Docker Compose runs it on a private network;
# render.yaml uses Dockerfile.guarded, the same image behind a token check.
#
# The 1.x image is the Rust server: ENTRYPOINT `dumb-init -- chroma`, default CMD `run /config.yaml`, whose
# persist_path is /data (chroma-core/chroma: rust/cli/Dockerfile at 1.0.5, rust/Dockerfile later, and
# rust/frontend/sample_configs/docker_single_node.yaml). The guide's /chroma/chroma is the 0.x (Python)
# layout and is NOT where 1.x writes.
# We pass the path on the command line so a change of the image's default can never move the data off the
# persistent disk, which must be mounted at /data (render.yaml, docker-compose.yml).
# Runs as root like the upstream image: Render mounts disks owned by root.
FROM chromadb/chroma:1.0.5

EXPOSE 8000

# The image has bash but neither curl nor wget: ask for the v2 heartbeat over bash's /dev/tcp.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8000 && printf 'GET /api/v2/heartbeat HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

# dumb-init (PID 1) forwards SIGTERM to the server, which stops cleanly.
STOPSIGNAL SIGTERM
ENTRYPOINT ["dumb-init", "--", "chroma"]
CMD ["run", "--path", "/data", "--host", "0.0.0.0", "--port", "8000"]
