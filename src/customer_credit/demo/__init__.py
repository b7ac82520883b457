"""Demo data at scale: `customer-credit demo` fills a store with a realistic credit book."""
