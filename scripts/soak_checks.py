"""The verdicts of scripts/soak.py, pure functions of what a run recorded.

    failures = check_samples(samples, warmup_s=300, rss_bound_pct=2.0)
    failures += check_accounting(summary, frames, records, final_stats)

tests/integration/soak_test.py feeds them made-up runs, each hiding one fault.
"""


def check_samples(samples, warmup_s, rss_bound_pct):
    """Failures in the series of samples (dicts with t, rss_kib, fds, threads)."""
    after = [s for s in samples if s['t'] >= warmup_s]
    if len(after) < 2:
        return ['too few samples after the warm-up (%d): run longer or sample more often'
                % len(after)]
    ref = after[0]
    failures = []
    limit = ref['rss_kib'] * (1 + rss_bound_pct / 100.0)
    worst = max(after, key=lambda s: s['rss_kib'])
    if worst['rss_kib'] > limit:
        failures.append('resident memory grew %.2f %% after the warm-up (%d KiB at %.0f s -> '
                        '%d KiB at %.0f s; the bound is %s %%)'
                        % (100.0 * (worst['rss_kib'] - ref['rss_kib']) / ref['rss_kib'],
                           ref['rss_kib'], ref['t'], worst['rss_kib'], worst['t'],
                           rss_bound_pct))
    for name in ('fds', 'threads'):
        worst = max(after, key=lambda s, n=name: s[n])
        if worst[name] > ref[name]:
            failures.append('%s leak: %d at %.0f s (end of warm-up) -> %d at %.0f s'
                            % (name, ref[name], ref['t'], worst[name], worst['t']))
    return failures


def check_accounting(summary, frames, records, final_stats):
    """Failures of the end-of-run accounting. `records` is a Records (or alike)."""
    if summary is None:
        return ['no summary on stderr']
    failures = []
    need = ('packets_in', 'packets_in_flows', 'flows_created')
    missing = [n for n in need if n not in summary]
    if missing:
        return ['the summary lacks %s' % ', '.join(missing)]
    drops = {k: v for k, v in summary.items() if k.startswith('drop_') and v}
    if summary['packets_in'] != frames:
        failures.append('packets_in %d != %d frames in the trace' % (summary['packets_in'], frames))
    if summary['packets_in'] != (summary['packets_in_flows'] + summary.get('filtered', 0)
                                 + sum(drops.values())):
        failures.append('packets_in %d != packets_in_flows %d + filtered %d + drops %s'
                        % (summary['packets_in'], summary['packets_in_flows'],
                           summary.get('filtered', 0), drops))
    if drops:
        failures.append('packets dropped: %s' % drops)
    if records.expires != summary['flows_created']:
        failures.append('%d EXPIRE records != flows_created %d'
                        % (records.expires, summary['flows_created']))
    if 'flows_expired' in summary and records.expires != summary['flows_expired']:
        failures.append('%d EXPIRE records != flows_expired %d'
                        % (records.expires, summary['flows_expired']))
    if records.outer_packets != summary['packets_in_flows']:
        failures.append('AB+BA packets of the outermost EXPIRE records %d != packets_in_flows %d'
                        % (records.outer_packets, summary['packets_in_flows']))
    failures.extend(records.problems)
    lost = {k: v for k, v in summary.items()
            if (k.endswith('records_lost') or k.endswith('output_errors')) and v}
    if lost:
        failures.append('outputs lost records: %s' % lost)
    if final_stats is not None and final_stats.get('packets_in') != summary['packets_in']:
        failures.append('Stats packets_in %s at the end != summary %d'
                        % (final_stats.get('packets_in'), summary['packets_in']))
    return failures
