"""remedlab's apps on a real Kubernetes cluster (k3s, kind, a cloud's).

- `image_entrypoint`: `remedlab-image`, the entry point of remedlab's container image (the Dockerfile
  at the repository's root), which runs what an image of the image map runs;
- `image_references`: the images to build and push, and their names in a registry;
- `store_images`: the official images that stand for remedlab's data-store images;
- `pod_containers`: the containers of a manifest's pods;
- `manifests`: an app's manifests, rendered for a real cluster;
- `agent_access`: the ServiceAccount, Role and RoleBinding an agent works with there.
"""
