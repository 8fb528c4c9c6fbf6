"""Storage: the tenant-scoped Store and the BlobStore, with their backends."""
