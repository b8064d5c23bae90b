#!/bin/sh
# The guest's first stage, on busybox: mount the machine's files read-only
# (9p "host") under a writable overlay in the guest's memory, mount the
# job's directory (9p "job") at /kemudi-vm in it, and hand over to the
# job's second stage there.
fail() { echo "testvm init: $*"; poweroff -f; }
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in virtio_pci 9pnet_virtio 9p overlay; do modprobe "$m" || fail "modprobe $m"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=524288 host /lower || fail "mount the machine's files"
mount -t tmpfs -o size=90% upper /upper || fail "mount the overlay's memory"
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work root /newroot || fail "mount the overlay"
# The machine's files as they are, also where the guest mounts its own
# (its /tmp): the second stage takes the directories it keeps from here.
mkdir -p /newroot/kemudi-vm /newroot/kemudi-host
mount --bind /lower /newroot/kemudi-host || fail "bind the machine's files"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 job /newroot/kemudi-vm || fail "mount the job"
umount /proc /sys /dev
exec switch_root /newroot /bin/sh /kemudi-vm/stage2.sh
