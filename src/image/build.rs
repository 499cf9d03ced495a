//! Writing images: the layer tar, its gzip blob, the config and manifests, and each on-disk form.
