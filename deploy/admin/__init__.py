"""The instructor's view beyond provisioning: status, audit, removal and teardown."""
