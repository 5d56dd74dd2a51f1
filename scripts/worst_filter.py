#!/usr/bin/env python3
"""Prints the costliest filter expression the limits allow (docs/query.md):
64 regular expressions that RE2 can only run slowly and two 4096-value `in`
lists over keys formatted as text, under one OR that matches no flow, so
every term is evaluated on every flow. The same text as
tests/bench/worst_filter.h (benchmarks). Usage: scripts/worst_filter.py
"""


def worst_filter():
    parts = ["Network.%s =~ '(.?){1000}x%d'" % ('A' if i % 2 else 'B', i) for i in range(64)]
    parts.append('LayersPath in (%s)' % ', '.join("'no-such-%d'" % i for i in range(4096)))
    parts.append('Application in (%s)' % ', '.join("'no-such-%d'" % i for i in range(4096)))
    return ' or '.join(parts)


if __name__ == '__main__':
    print(worst_filter())
