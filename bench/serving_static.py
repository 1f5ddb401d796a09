"""A static files storage for the serving benchmark (see bench/serving_settings.py)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestStorageWithoutJsSourceMaps(CompressedManifestStaticFilesStorage):
    """Production's hashed, compressed manifest storage, minus the rewriting of `//# sourceMappingURL=` in
    JavaScript, which fails when a vendored file names a source map that is not shipped."""

    patterns = tuple(
        (extension, rules) for extension, rules in CompressedManifestStaticFilesStorage.patterns if extension != "*.js"
    )
