"""The hostile-world harness (`./run.sh chaos`): the whole system under every fault at once,
checked against the truth played on the sandbox. See docs/developing.md "The hostile-world run"."""
