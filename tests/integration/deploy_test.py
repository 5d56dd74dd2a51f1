#!/usr/bin/env python3
"""The deployment files: docker/skyprobe.service, docker/Dockerfile and
docker/compose.yaml.

- the unit passes `systemd-analyze verify` (its ExecStart pointed at the
  build's binary), and the flags of its ExecStart start a probe whose
  metrics endpoint answers (on port 0 here: 9464 may be taken on this host);
- the Dockerfile's runtime stage installs, directly or through their
  dependencies (apt's own database is the oracle), the package of every
  shared library skyprobe and skyprobectl load (ldd, dpkg -S); its build
  stage has every -dev package scripts/setup.sh builds with; it exposes the
  metrics port the unit uses.
- the unit's sandbox: the probe runs under exactly its capability bounding
  set and no_new_privs (setpriv): a replay gives the flows of an unbounded
  run, AF_PACKET on lo sees a UDP exchange the test makes; without
  CAP_NET_RAW the interface is refused (so the set is what makes it work);
  systemd's own offline `systemd-analyze security` rates the unit OK or
  better.
- the compose file passes `docker-compose config` (a broken copy does not);
  its probe's flags pass `skyprobe --check` (the interface swapped for lo);
  its Prometheus configuration passes `promtool check config` and scrapes
  the probe's --metrics-listen; its collector listens where the probe's
  --ipfix sends, and its image installs the package that has that program.
"""

import os
import re
import shlex
import shutil
import socket
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
COMPOSE = os.path.join(h.source_root(), 'docker', 'compose.yaml')
PROMETHEUS = os.path.join(h.source_root(), 'docker', 'prometheus.yml')
# In the debian:12 image already (Essential: yes).
BASE = {'libc6', 'libstdc++6', 'libgcc-s1', 'zlib1g'}


def exec_start():
    with open(UNIT, encoding='utf-8') as f:
        for line in f:
            if line.startswith('ExecStart='):
                return shlex.split(line[len('ExecStart='):])
    raise AssertionError('no ExecStart in %s' % UNIT)


def unit_setting(name):
    """The value of `name=` in the unit (the last one wins, as in systemd)."""
    value = None
    with open(UNIT, encoding='utf-8') as f:
        for line in f:
            if line.startswith(name + '='):
                value = line[len(name) + 1:].strip()
    return value


def need(testcase, program, package):
    path = shutil.which(program)
    if path is None:
        testcase.fail('%s not found: install %s (scripts/setup.sh --tests)' % (program, package))
    return path


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
        static_dpdk = True
        for program in (h.skyprobe_path(), h.ctl_path()):
            ldd = subprocess.run(['ldd', program], capture_output=True, text=True, timeout=60,
                                 check=True).stdout
            libs = re.findall(r'=> (/\S+)', ldd)
            self.assertGreater(len(libs), 5)
            if program == h.skyprobe_path():
                static_dpdk = not any('librte_eal' in lib for lib in libs)
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
        # With DPDK linked shared (-Ddpdk_link=shared), drivers EAL loads as
        # plugins (not in ldd): what every input needs. Linked static, the
        # binary carries them, and their libraries are in ldd.
        pmds = '/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0'
        plugins = () if static_dpdk else ('librte_bus_vdev', 'librte_bus_pci',
                                          'librte_mempool_ring', 'librte_net_pcap',
                                          'librte_net_af_packet')
        for plugin in plugins:
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

    def sandboxed(self, caps, args, **kwargs):
        """skyprobe with bounding set `caps` (systemd's CAP_ names) and no_new_privs."""
        setpriv = need(self, 'setpriv', 'util-linux')
        bounding = ','.join(['-all'] + ['+' + c[len('CAP_'):].lower() for c in caps])
        return [setpriv, '--bounding-set', bounding, '--inh-caps', '-all', '--no-new-privs',
                h.skyprobe_path()] + list(args)

    def test_unit_sandbox_is_enough_and_rated(self):
        h.require_skyprobe(self)
        if os.geteuid() != 0:
            self.fail('the unit runs the probe as root: run this test as root')
        caps = unit_setting('CapabilityBoundingSet').split()
        self.assertEqual(unit_setting('NoNewPrivileges'), 'yes')
        self.assertEqual(sorted(caps), ['CAP_IPC_LOCK', 'CAP_NET_ADMIN', 'CAP_NET_RAW'])
        out = h.scratch_dir('deploy')
        demo = os.path.join(h.source_root(), 'tests', 'data', 'demo.pcap')
        # A replay: the same flows as without the sandbox.
        boxed = subprocess.run(self.sandboxed(caps, ['--pcap', demo, '--json', '-', '--quiet']),
                               capture_output=True, text=True, timeout=120, check=False)
        self.assertEqual(boxed.returncode, 0, boxed.stderr)
        plain = h.run_skyprobe(['--pcap', demo, '--quiet', '--json', '-'])
        self.assertEqual(sorted(r['UUID'] for r in h.parse_json_lines(boxed.stdout)),
                         sorted(r['UUID'] for r in h.parse_json_lines(plain.stdout)))
        # AF_PACKET on lo: a UDP exchange the test makes is a flow.
        json_path = os.path.join(out, 'sandbox-lo.json')
        proc = subprocess.Popen(self.sandboxed(caps, ['--iface', 'lo', '--grpc-listen', 'none',
                                                      '--stats-interval', '1',
                                                      '--json', json_path]),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        line = ''
        while 'RX worker' not in line and proc.poll() is None:
            line = proc.stderr.readline()
        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        receiver.bind(('127.0.0.1', 0))
        port = receiver.getsockname()[1]
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(20):
            sender.sendto(b'sandboxed', ('127.0.0.1', port))
            receiver.recv(64)
        # Stop only once the probe has counted them (its stats line), so that the flow is
        # there whatever the moment the worker polls.
        while proc.poll() is None:
            line = proc.stderr.readline()
            seen = re.search(r'^skyprobe: stats packets_in=(\d+)', line)
            if seen and int(seen.group(1)) >= 20:
                break
        proc.terminate()
        rest = proc.communicate(timeout=60)[1]
        self.assertEqual(proc.returncode, 0, line + rest)
        with open(json_path, encoding='utf-8') as f:
            records = h.parse_json_lines(f.read())
        self.assertTrue([r for r in records if r.get('Transport', {}).get('B') == port or
                         r.get('Transport', {}).get('A') == port], records)
        # Without CAP_NET_RAW the interface cannot be opened: the set is what makes it work.
        refused = subprocess.run(
            self.sandboxed([c for c in caps if c != 'CAP_NET_RAW'],
                           ['--iface', 'lo', '--grpc-listen', 'none']),
            capture_output=True, text=True, timeout=60, check=False)
        self.assertEqual(refused.returncode, 1, refused.stderr)
        self.assertIn('no DPDK port', refused.stderr)
        # systemd's own rating of the sandbox (offline: no running systemd needed).
        analyze = need(self, 'systemd-analyze', 'systemd')
        rating = subprocess.run([analyze, 'security', '--offline=true', UNIT],
                                capture_output=True, text=True, timeout=60, check=False)
        level = re.search(r'Overall exposure level for \S+: ([\d.]+) (\w+)', rating.stdout)
        self.assertIsNotNone(level, rating.stdout + rating.stderr)
        self.assertIn(level.group(2), ('OK', 'SAFE'), level.group(0))

    def test_compose_file(self):
        compose = need(self, 'docker-compose', 'docker-compose')
        checked = subprocess.run([compose, '-f', COMPOSE, 'config'], capture_output=True,
                                 text=True, timeout=120, check=False)
        self.assertEqual(checked.returncode, 0, checked.stderr)
        # The validator validates: a service key compose does not know is refused.
        broken = os.path.join(os.path.dirname(COMPOSE), '.compose-broken-test.yaml')
        with open(COMPOSE, encoding='utf-8') as f:
            text = f.read()
        with open(broken, 'w', encoding='utf-8') as f:
            f.write(text.replace('    network_mode: host\n', '    network_mode: host\n'
                                 '    capabilities_please: [ALL]\n', 1))
        self.addCleanup(os.unlink, broken)
        bad = subprocess.run([compose, '-f', broken, 'config'], capture_output=True, text=True,
                             timeout=120, check=False)
        self.assertNotEqual(bad.returncode, 0)
        # The probe's flags, as compose resolved them, pass --check with lo.
        import yaml  # pylint: disable=import-outside-toplevel
        services = yaml.safe_load(checked.stdout)['services']
        flags = [str(a) for a in services['skyprobe']['command']]
        flags[flags.index('--iface') + 1] = 'lo'
        check = subprocess.run([h.skyprobe_path(), '--check'] + flags, capture_output=True,
                               text=True, timeout=60, check=False)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual(sorted(services['skyprobe']['cap_add']), ['NET_ADMIN', 'NET_RAW'])
        # The collector listens where the probe sends IPFIX.
        ipfix = flags[flags.index('--ipfix') + 1]
        collector = [str(a) for a in services['ipfix-collector']['command']]
        self.assertEqual(ipfix, 'udp://%s:%s' % (collector[collector.index('-b') + 1],
                                                 collector[collector.index('-p') + 1]))
        owner = subprocess.run(['dpkg', '-S', shutil.which(collector[0]) or collector[0]],
                               capture_output=True, text=True, timeout=60, check=False)
        self.assertEqual(owner.returncode, 0, 'no package owns %s here' % collector[0])
        self.assertIn(owner.stdout.split(':')[0], apt_list('ipfix-collector'))
        # Prometheus: a valid configuration scraping the probe's endpoint.
        promtool = need(self, 'promtool', 'prometheus')
        valid = subprocess.run([promtool, 'check', 'config', PROMETHEUS], capture_output=True,
                               text=True, timeout=60, check=False)
        self.assertEqual(valid.returncode, 0, valid.stdout + valid.stderr)
        with open(PROMETHEUS, encoding='utf-8') as f:
            scrape = yaml.safe_load(f)['scrape_configs'][0]['static_configs'][0]['targets']
        self.assertEqual(scrape, [flags[flags.index('--metrics-listen') + 1]])


if __name__ == '__main__':
    h.main()
