#!/bin/sh
echo hello from script.sh
