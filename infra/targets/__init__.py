"""Deployment targets: pulumi-docker, compose export, Kubernetes."""
