//! Reading images as they ship (docker-archive, oci-archive, OCI layout) and merging their layers.
