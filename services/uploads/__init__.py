"""The uploads demo: multipart and streamed uploads to disk, listed with sizes and SHA-256, downloadable."""
