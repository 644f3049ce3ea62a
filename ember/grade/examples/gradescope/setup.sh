#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image (Ubuntu, as root).
# Zip this folder's files (assignment.toml, reference.py, setup.sh, run_autograder) and upload the zip.
set -euo pipefail
apt-get update -q && apt-get install -y -q python3 python3-pip
# Install ember as your course ships it: from PyPI, a wheel in this zip, or a git URL.
pip3 install ember
