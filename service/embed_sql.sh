#!/bin/sh
# Wraps an SQL file into a C++ raw string literal, so each schema step stays a reviewable .sql file.
printf 'R"sql('
cat "$1"
printf ')sql",\n'
