#!/usr/bin/env python3
"""skyprobe --check (issue 14, item 6): is the machine ready for a config?

Most states (a NIC on its kernel driver, IOMMU off, two NUMA nodes, too few
hugepages) cannot be made on a test machine, so the test builds a tree that
mimics /sys, /proc and /dev (SKYPROBE_CHECK_ROOT) the way the kernel lays
them out, one state at a time, and reads the probe's verdict: which item is
missing, the command given to fix it, the exit status (0: can start, 1: not).
For the fixes that are a write to sysfs (hugepages) or a rebinding
(dpdk-devbind.py moves the device's driver link), the test then applies the
fix to the tree as the command would, and the same item must turn ready.
The states this machine has for real are checked too: a pcap replay and a
live capture on lo (as root) are ready, and a NIC run's verdict agrees with
its own lines.
"""

import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

NIC = '0000:3b:00.0'


class FakeMachine:
    """A root with the files --check reads, in the kernel's layout."""

    def __init__(self, path):
        if os.path.exists(path):
            shutil.rmtree(path)
        os.makedirs(path)
        self.root = path
        self.cpus(4)
        self.hugepages(512, 512)
        self.write('proc/mounts', 'sysfs /sys sysfs rw 0 0\n'
                   'hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n')
        self.write('proc/meminfo', 'MemTotal: 16000000 kB\nMemAvailable: 8000000 kB\n')
        self.process(caps=0x000001ffffffffff, memlock='unlimited')
        for group in range(3):
            os.makedirs(self.path('sys/kernel/iommu_groups/%d/devices' % group))
        os.makedirs(self.path('sys/module/vfio/parameters'))
        self.write('sys/module/vfio/parameters/enable_unsafe_noiommu_mode', 'N\n')
        os.makedirs(self.path('sys/bus/pci/drivers/vfio-pci'))
        os.makedirs(self.path('sys/bus/pci/drivers/ice'))
        self.write('dev/vfio/vfio', '')
        self.nic(NIC, 'vfio-pci', node=0)

    def path(self, rel):
        return os.path.join(self.root, rel)

    def write(self, rel, text):
        os.makedirs(os.path.dirname(self.path(rel)), exist_ok=True)
        with open(self.path(rel), 'w', encoding='utf-8') as handle:
            handle.write(text)

    def cpus(self, n, isolated='', nodes=1):
        per_node = n // nodes
        for cpu in range(n):
            node = cpu // per_node
            os.makedirs(self.path('sys/devices/system/cpu/cpu%d/node%d' % (cpu, node)),
                        exist_ok=True)
        self.write('sys/devices/system/cpu/online', '0-%d\n' % (n - 1))
        self.write('sys/devices/system/cpu/isolated', isolated + '\n')
        for node in range(nodes):
            self.write('sys/devices/system/node/node%d/cpulist' % node,
                       '%d-%d\n' % (node * per_node, node * per_node + per_node - 1))

    def hugepages(self, nr, free, node=0):
        for base in ('sys/kernel/mm/hugepages/hugepages-2048kB',
                     'sys/devices/system/node/node%d/hugepages/hugepages-2048kB' % node):
            self.write(base + '/nr_hugepages', '%d\n' % nr)
            self.write(base + '/free_hugepages', '%d\n' % free)

    def process(self, caps, memlock):
        self.write('proc/self/status', 'Name:\tskyprobe\nCapEff:\t%016x\n' % caps)
        self.write('proc/self/limits', 'Limit                     Soft Limit           '
                   'Hard Limit           Units\nMax locked memory         %s                 '
                   '%s                 bytes\n' % (memlock, memlock))

    def nic(self, address, driver, node, iface=None):
        base = self.path('sys/bus/pci/devices/' + address)
        os.makedirs(base, exist_ok=True)
        link = os.path.join(base, 'driver')
        if os.path.lexists(link):
            os.unlink(link)
        if driver:
            os.symlink(self.path('sys/bus/pci/drivers/' + driver), link)
        self.write('sys/bus/pci/devices/%s/numa_node' % address, '%d\n' % node)
        if iface:
            os.makedirs(os.path.join(base, 'net', iface), exist_ok=True)


class Verdict:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.items = []  # (state, what, fix)
        for line in proc.stdout.splitlines():
            match = re.match(r'^  (ready|warning|missing) +(.*)$', line)
            if match:
                self.items.append([match.group(1), match.group(2), ''])
            fix = re.match(r'^ +fix: (.*)$', line)
            if fix:
                self.items[-1][2] = fix.group(1)

    def item(self, prefix):
        found = [i for i in self.items if i[1].startswith(prefix)]
        assert len(found) == 1, 'one item %r in:\n%s' % (prefix, self.out)
        return found[0]

    def states(self):
        return {i[0] for i in self.items}


class CheckTest(unittest.TestCase):

    def setUp(self):
        h.require_skyprobe(self)
        self.machine = FakeMachine(os.path.join(h.scratch_dir('check'), self.id().split('.')[-1]))

    def check(self, *args, root=None):
        env = dict(os.environ)
        env['SKYPROBE_CHECK_ROOT'] = self.machine.root if root is None else root
        if root == '/':
            del env['SKYPROBE_CHECK_ROOT']
        proc = subprocess.run([h.skyprobe_path(), '--check'] + list(args), env=env,
                              capture_output=True, text=True, timeout=60, check=False)
        verdict = Verdict(proc)
        self.assertEqual(proc.stderr, '')
        self.assertTrue(verdict.items, proc.stdout)
        # The exit status is the verdict of the lines.
        self.assertEqual(verdict.code, 1 if 'missing' in verdict.states() else 0, proc.stdout)
        last = proc.stdout.splitlines()[-1]
        if verdict.code == 0:
            self.assertRegex(last, r'^skyprobe: check: ready to start')
        else:
            self.assertRegex(last, r'^skyprobe: check: \d+ missing.*cannot start$')
        return verdict

    def nic_run(self, *extra, lcores='0-2'):
        return self.check('--eal', '-l %s -a %s' % (lcores, NIC), '--workers', '2',
                          '--max-flows', '1M', *extra)

    def test_everything_ready(self):
        self.machine.cpus(4, isolated='1-3')
        v = self.nic_run()
        self.assertEqual(v.code, 0, v.out)
        self.assertEqual(v.states(), {'ready'}, v.out)
        self.assertIn('bound to vfio-pci', v.item('NIC %s' % NIC)[1])

    def test_nic_on_its_kernel_driver_then_bound(self):
        self.machine.nic(NIC, 'ice', node=0, iface='ens1f0')
        v = self.nic_run()
        self.assertEqual(v.code, 1)
        state, what, fix = v.item('NIC %s' % NIC)
        self.assertEqual(state, 'missing')
        self.assertIn('ice (ens1f0)', what)
        self.assertIn('ip link set ens1f0 down', fix)
        self.assertIn('dpdk-devbind.py --bind=vfio-pci %s' % NIC, fix)
        # What dpdk-devbind.py does: the device's driver link moves to vfio-pci.
        self.machine.nic(NIC, 'vfio-pci', node=0)
        self.assertEqual(self.nic_run().item('NIC %s' % NIC)[0], 'ready')
        # Unbound, and a device that is not there.
        self.machine.nic(NIC, None, node=0)
        self.assertIn('bound to no driver', self.nic_run().item('NIC %s' % NIC)[1])
        v = self.check('--eal', '-l 0-1 -a 0000:5e:00.1')
        self.assertEqual(v.item('NIC 0000:5e:00.1')[:2], ['missing', 'NIC 0000:5e:00.1: no such '
                                                                     'PCI device'])
        # A Mellanox NIC stays on its kernel driver.
        os.makedirs(self.machine.path('sys/bus/pci/drivers/mlx5_core'))
        self.machine.nic(NIC, 'mlx5_core', node=0)
        self.assertEqual(self.nic_run().item('NIC %s' % NIC)[0], 'ready')

    def test_too_few_hugepages_then_the_fix(self):
        self.machine.hugepages(100, 100)
        v = self.nic_run()
        state, what, fix = v.item('hugepages:')
        self.assertEqual((state, v.code), ('missing', 1))
        need = int(re.search(r'the probe needs (\d+) MB', what).group(1))
        # 1M flows take hundreds of MB whatever the exact formula.
        self.assertGreater(need, 1_000_000 * 256 >> 20)
        pages = int(re.match(r'^echo (\d+) > /sys/kernel/mm/hugepages/hugepages-2048kB/'
                             r'nr_hugepages', fix).group(1))
        # The command as the kernel would take it: that many pages, all free.
        self.machine.hugepages(pages, pages)
        self.assertEqual(self.nic_run().item('hugepages:')[0], 'ready')
        # --no-huge: no hugepage item at all.
        self.machine.hugepages(0, 0)
        v = self.check('--eal', '-l 0-2 --no-huge -a %s' % NIC, '--workers', '2')
        self.assertFalse([i for i in v.items if i[1].startswith('hugepages')], v.out)
        # Not mounted.
        self.machine.hugepages(512, 512)
        self.machine.write('proc/mounts', 'sysfs /sys sysfs rw 0 0\n')
        self.assertEqual(self.nic_run().item('hugetlbfs:')[0], 'missing')

    def test_iommu(self):
        shutil.rmtree(self.machine.path('sys/kernel/iommu_groups'))
        os.makedirs(self.machine.path('sys/kernel/iommu_groups'))
        state, _, fix = self.nic_run().item('IOMMU:')
        self.assertEqual(state, 'missing')
        self.assertIn('intel_iommu=on iommu=pt', fix)
        self.machine.write('sys/module/vfio/parameters/enable_unsafe_noiommu_mode', 'Y\n')
        v = self.nic_run()
        self.assertEqual((v.item('IOMMU:')[0], v.code), ('warning', 0))
        os.unlink(self.machine.path('dev/vfio/vfio'))
        self.assertEqual(self.nic_run().item('vfio-pci:')[:2], ['missing', 'vfio-pci: not loaded'])

    def test_lcores_isolation_and_numa(self):
        self.machine.cpus(8, isolated='', nodes=2)  # node 0: 0-3, node 1: 4-7
        self.machine.nic(NIC, 'vfio-pci', node=1)
        v = self.nic_run(lcores='0-2')
        self.assertEqual(v.code, 0)
        state, what, fix = v.item('lcores: RX CPU(s) 1,2 not isolated')
        self.assertEqual(state, 'warning')
        self.assertIn('isolcpus=1,2 nohz_full=1,2', fix)
        state, what, fix = v.item('NUMA:')
        self.assertEqual(state, 'warning')
        self.assertIn('not on node 1', what)
        self.assertIn('node 1 (4-7)', fix)
        # RX lcores on the NIC's node, isolated: both ready.
        self.machine.write('sys/devices/system/cpu/isolated', '5-6\n')
        v = self.nic_run(lcores='0,5,6')
        self.assertEqual(v.item('NUMA:')[0], 'ready')
        self.assertEqual(v.item('lcores: RX CPU(s) isolated')[0], 'ready')
        # Offline CPUs; too few lcores for the workers.
        v = self.nic_run(lcores='0-9')
        self.assertEqual(v.item('lcores: CPU(s) 8,9 not online')[0], 'missing')
        v = self.nic_run(lcores='0-1')  # --workers 2 needs 3
        self.assertEqual(v.item('lcores: 2 given')[0], 'missing')

    def test_memory_locking(self):
        self.machine.process(caps=0, memlock='8388608')
        state, _, fix = self.nic_run().item('memory locking:')
        self.assertEqual(state, 'missing')
        self.assertIn('LimitMEMLOCK=infinity', fix)
        self.machine.process(caps=0, memlock='unlimited')
        self.assertEqual(self.nic_run().item('memory locking:')[0], 'ready')
        self.machine.process(caps=1 << 14, memlock='8388608')  # CAP_IPC_LOCK
        self.assertEqual(self.nic_run().item('memory locking:')[0], 'ready')

    def test_live_interface(self):
        # The configuration itself refuses an interface this machine does not
        # have (exit 2), so the tree is given states of a real one, lo.
        v = self.check('--iface', 'lo')
        self.assertEqual(v.item('--iface lo')[:2], ['missing', '--iface lo: no such interface'])
        self.machine.write('sys/class/net/lo/operstate', 'down\n')
        v = self.check('--iface', 'lo')
        self.assertEqual((v.item('--iface lo')[0], v.code), ('warning', 0))
        self.assertEqual(v.item('--iface lo')[2], 'ip link set lo up')
        self.machine.process(caps=0, memlock='unlimited')
        v = self.check('--iface', 'lo')
        self.assertEqual(v.item('AF_PACKET:')[0], 'missing')
        self.assertIn('AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN', v.item('AF_PACKET:')[2])

    def test_this_machine(self):
        demo = os.path.join(h.source_root(), 'tests', 'data', 'demo.pcap')
        v = self.check('--pcap', demo, root='/')
        self.assertEqual(v.code, 0, v.out)
        self.assertEqual(v.item('EAL:')[0], 'ready')
        if os.geteuid() == 0:
            v = self.check('--iface', 'lo', root='/')
            self.assertEqual(v.code, 0, v.out)
            self.assertEqual(v.item('AF_PACKET:')[0], 'ready')
        # A NIC run on this machine: whatever its state, every item has a
        # state and the exit status agrees with them (check() asserts it).
        self.check('--eal', '-l 0-1 -a 0000:00:1f.6', root='/')


if __name__ == '__main__':
    h.main()
