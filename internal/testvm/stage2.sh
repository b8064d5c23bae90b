# The guest's second stage, on the machine's own /bin/sh, as PID 1: the
# mounts a host has, cgroup v2 set up as systemd sets it up, the kernel's
# modules, loopback; then the job's command (run.sh), its output in out and
# its exit status in status; then power off.
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
job=/kemudi-vm
log() { echo "testvm: $*" >/dev/console; }
fail() { log "$*"; echo "testvm: $*" >>$job/out; /bin/busybox poweroff -f; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
# cgroup v2 alone (the kernel has cgroup_no_v1=all): the controllers
# enabled at the root, and this shell in a leaf of its own (init.scope),
# as systemd leaves a host.
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || fail "mount cgroup2"
mkdir /sys/fs/cgroup/init.scope && echo $$ >/sys/fs/cgroup/init.scope/cgroup.procs || fail "move into init.scope"
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || fail "enable $c"; done
# Memory, not the overlay: an overlay's upper directory cannot be on an
# overlay, and the runtime's are under these.
for d in /tmp /run /var/tmp /var/lib; do mount -t tmpfs -o mode=1777 tmpfs "$d" || fail "mount $d"; done
chmod 0755 /run /var/lib
# The host's directories the command needs (the job's keep file, one a
# line) where they were, also under those: writable, the writes in memory.
i=0
while read -r dir; do
	i=$((i + 1))
	mkdir -p "/run/testvm/keep/$i/data" "/run/testvm/keep/$i/work" "$dir"
	mount -t overlay -o "lowerdir=/kemudi-host$dir,upperdir=/run/testvm/keep/$i/data,workdir=/run/testvm/keep/$i/work" keep "$dir" || fail "keep $dir"
done <$job/keep
mkdir -p /run/netns /run/lock
# The guest kernel's modules where modprobe looks, and busybox's modprobe
# for the kernel to call (the machine may have no kmod).
release=$(cat $job/release)
mkdir -p /usr/lib/modules/$release /run/testvm
mount --bind "$(cat $job/modules)" /usr/lib/modules/$release || fail "mount the modules"
ln -s /bin/busybox /run/testvm/modprobe
echo /run/testvm/modprobe >/proc/sys/kernel/modprobe
hostname testvm
ip link set lo up
log "running the command"
/bin/sh $job/run.sh >$job/out 2>&1 </dev/null
echo $? >$job/status.tmp
mv $job/status.tmp $job/status
log "command exited $(cat $job/status)"
sync
/bin/busybox poweroff -f
