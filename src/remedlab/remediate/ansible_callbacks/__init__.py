"""Ansible plugins remedlab loads into the playbooks it runs (by path, through ANSIBLE_CALLBACK_PLUGINS)."""
