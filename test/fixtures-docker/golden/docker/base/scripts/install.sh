#!/bin/sh
set -eu
echo "install python $1"
