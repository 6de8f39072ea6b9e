#!/bin/bash
# Lesson 6: an ordinary user to be unprivileged with.
set -eu
id alice >/dev/null 2>&1 || useradd --create-home --shell /bin/bash alice
