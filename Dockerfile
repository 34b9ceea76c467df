# remedlab's container image, for remedlab's apps on a real Kubernetes cluster: every program of
# remedlab's images (src/remedlab/apps/images.yaml) in one image. Its entry point, remedlab-image,
# runs the image REMEDLAB_IMAGE names with the container's command and args, as the embedded
# cluster does. Build it once per image reference (`remedlab images` lists them), e.g.:
#   docker build --build-arg REMEDLAB_IMAGE=remedlab/hotel-reservation:1.0 \
#     -t ghcr.io/you/remedlab/hotel-reservation:1.0 .
# See docs/kubernetes.md.
FROM python:3.11-slim-bookworm

LABEL org.opencontainers.image.title="remedlab" \
      org.opencontainers.image.description="remedlab's apps, for a real Kubernetes cluster" \
      org.opencontainers.image.licenses="Apache-2.0"

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# what the apps' programs and an agent's commands in a pod need at run time (the list `make setup`
# installs too), and the unprivileged user the programs run as
COPY packages/debian-apps.txt /tmp/debian-apps.txt
RUN apt-get update \
    && sed -e 's/#.*//' /tmp/debian-apps.txt | xargs apt-get install -y --no-install-recommends \
    && rm -rf /var/lib/apt/lists/* /tmp/debian-apps.txt \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/remedlab \
         --shell /usr/sbin/nologin remedlab

WORKDIR /usr/src/remedlab
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore .
# the Flower app's programs run from an environment of their own beside Python's (sys.prefix/flower), as
# `make setup` makes it: Flower pins other versions of the web stack than remedlab
RUN python -m venv /usr/local/flower \
    && /usr/local/flower/bin/pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore \
         "pip>=25.1" \
    && /usr/local/flower/bin/pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore \
         --group pyproject.toml:flower

USER 10001:10001
WORKDIR /home/remedlab

ARG REMEDLAB_IMAGE=""
ENV REMEDLAB_IMAGE=${REMEDLAB_IMAGE} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
ENTRYPOINT ["remedlab-image"]
