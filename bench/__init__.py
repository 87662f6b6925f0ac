"""The throughput and latency benchmark (`gridwatch bench`, `make bench`)."""
