"""A test site for the lifecycle end-to-end tests: the demo project plus an
app whose probe checks are driven by files named in the environment."""
