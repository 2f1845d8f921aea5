"""成果验收: the owner submits the deliverable; the reviewer passes it (done) or returns it with comments."""
