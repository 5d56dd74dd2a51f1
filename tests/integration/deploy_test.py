#!/usr/bin/env python3
"""The deployment files: docker/skyprobe.service and docker/Dockerfile.

- the unit passes `systemd-analyze verify` (its ExecStart pointed at the
  build's binary), and the flags of its ExecStart start a probe whose
  metrics endpoint answers (on port 0 here: 9464 may be taken on this host);
- the Dockerfile's runtime stage installs, directly or through their
  dependencies (apt's own database is the oracle), the package of every
  shared library skyprobe and skyprobectl load (ldd, dpkg -S); its build
  stage has every -dev package scripts/setup.sh builds with; it exposes the
  metrics port the unit uses.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

UNIT = os.path.join(h.source_root(), 'docker', 'skyprobe.service')
DOCKERFILE = os.path.join(h.source_root(), 'docker', 'Dockerfile')
SETUP = os.path.join(h.source_root(), 'scripts', 'setup.sh')
# In the debian:12 image already (Essential: yes).
BASE = {'libc6', 'libstdc++6', 'libgcc-s1', 'zlib1g'}


def exec_start():
    with open(UNIT, encoding='utf-8') as f:
        for line in f:
            if line.startswith('ExecStart='):
                return shlex.split(line[len('ExecStart='):])
    raise AssertionError('no ExecStart in %s' % UNIT)


def apt_list(stage):
    """Packages of the apt-get install in the Dockerfile stage `stage`."""
    with open(DOCKERFILE, encoding='utf-8') as f:
        text = f.read()
    body = text.split('AS %s' % stage, 1)[1].split('\nFROM ', 1)[0]
    install = body.split('apt-get install', 1)[1].split('&&', 1)[0]
    return {w for w in install.replace('\\', ' ').split() if not w.startswith('-')}


class DeployTest(unittest.TestCase):
    maxDiff = None

    def test_unit_verifies_and_its_flags_serve_metrics(self):
        binary = h.require_skyprobe(self)
        args = exec_start()
        self.assertEqual(args[0], '/usr/local/bin/skyprobe')
        i = args.index('--metrics-listen')
        self.assertEqual(args[i + 1], '127.0.0.1:9464')
        analyze = shutil.which('systemd-analyze')
        if analyze is None:
            self.fail('systemd-analyze not found: install systemd (scripts/setup.sh --tests)')
        tmp = tempfile.mkdtemp(prefix='unit-', dir=h.scratch_dir('deploy'))
        unit = os.path.join(tmp, 'skyprobe.service')
        with open(UNIT, encoding='utf-8') as f:
            text = f.read().replace('/usr/local/bin/skyprobe', binary)
        with open(unit, 'w', encoding='utf-8') as f:
            f.write(text)
        check = subprocess.run([analyze, 'verify', unit], capture_output=True, text=True,
                               timeout=60, check=False)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        # The unit's flags with a config of our own (the demo capture, held).
        config = os.path.join(tmp, 'skyprobe.yaml')
        demo = os.path.join(h.source_root(), 'tests', 'data', 'demo.pcap')
        with open(config, 'w', encoding='utf-8') as f:
            f.write('input: { pcap: "%s" }\nruntime: { hold: true }\n' % demo)
        flags = args[1:]
        flags[flags.index('/etc/skyprobe/skyprobe.yaml')] = config
        flags[i] = '127.0.0.1:0'
        probe = h.ServingProbe(self, flags)
        port = probe.metrics_port(self)
        with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=30) as r:
            self.assertIn('skyprobe_build_info', r.read().decode())
        self.assertEqual(probe.terminate(), 0)

    def test_dockerfile_runtime_has_every_library(self):
        runtime = apt_list('runtime')
        # Everything those packages bring along, from apt's database.
        deps = subprocess.run(['apt-cache', 'depends', '--recurse', '--no-recommends',
                               '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces',
                               '--no-enhances', '--no-pre-depends'] + sorted(runtime),
                              capture_output=True, text=True, timeout=300, check=True).stdout
        closure = set(runtime)
        for line in deps.splitlines():
            m = re.match(r'^\s+Depends: <?([^>\s:]+)', line)
            if m:
                closure.add(m.group(1))
            elif re.match(r'^[a-z0-9]', line):
                closure.add(line.strip().split(':')[0])
        missing = set()
        for program in (h.skyprobe_path(), h.ctl_path()):
            ldd = subprocess.run(['ldd', program], capture_output=True, text=True, timeout=60,
                                 check=True).stdout
            libs = re.findall(r'=> (/\S+)', ldd)
            self.assertGreater(len(libs), 5)
            for lib in libs:
                owner = subprocess.run(['dpkg', '-S', os.path.realpath(lib)],
                                       capture_output=True, text=True, timeout=60, check=False)
                if owner.returncode != 0:
                    owner = subprocess.run(['dpkg', '-S', lib], capture_output=True, text=True,
                                           timeout=60, check=False)
                self.assertEqual(owner.returncode, 0, '%s: no package owns %s' % (program, lib))
                package = owner.stdout.split(':')[0]
                if package not in closure and package not in BASE:
                    missing.add('%s (%s, for %s)' % (package, os.path.basename(lib),
                                                     os.path.basename(program)))
        # Drivers EAL loads as plugins (not in ldd): what every input needs.
        pmds = '/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0'
        for plugin in ('librte_bus_vdev', 'librte_bus_pci', 'librte_mempool_ring',
                       'librte_net_pcap', 'librte_net_af_packet'):
            owner = subprocess.run(['dpkg', '-S', os.path.join(pmds, plugin + '.so.23')],
                                   capture_output=True, text=True, timeout=60, check=False)
            self.assertEqual(owner.returncode, 0, 'no package owns the %s plugin' % plugin)
            package = owner.stdout.split(':')[0]
            if package not in closure:
                missing.add('%s (plugin %s)' % (package, plugin))
        self.assertEqual(sorted(missing), [], 'packages the runtime stage does not install')

    def test_dockerfile_build_stage_and_port(self):
        build = apt_list('build')
        with open(SETUP, encoding='utf-8') as f:
            setup = f.read()
        listed = setup.split('BUILD_PACKAGES=(', 1)[1].split(')', 1)[0]
        needed = {w for w in re.sub(r'#.*', '', listed).split() if w.endswith('-dev')}
        self.assertEqual(sorted(needed - build), [], 'build packages missing in the Dockerfile')
        with open(DOCKERFILE, encoding='utf-8') as f:
            self.assertRegex(f.read(), r'\nEXPOSE 9464\n')


if __name__ == '__main__':
    h.main()
