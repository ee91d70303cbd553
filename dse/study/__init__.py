"""The study configuration, in parts: schema (pydantic), load (YAML + checks), config (dataclasses),
storage (URL secrets). Import the public API from :mod:`dse.study_config`, which documents the
study.yaml format.
"""
