"""Deployments: rules, backends, health watch and rollback."""
