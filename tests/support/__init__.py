"""Test helpers: a local moto server, an STS proxy that checks MFA codes, and throwaway AWS homes."""
