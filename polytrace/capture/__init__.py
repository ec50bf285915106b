"""What the tests and the bench share: the OTLP decoder, a test receiver, golden-trace matching."""
