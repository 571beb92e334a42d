#!/bin/busybox sh
# /init of the IPVS test VM: mount the basics, load the IPVS modules, run the guest test with node,
# report on the serial console, power off. Lines starting with LAUNCHO-IPVS are read by the host.
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/bin HOME=/tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in $(cat /lib/modules/order); do
  insmod "/lib/modules/$m.ko" || echo "LAUNCHO-IPVS-FAIL insmod $m"
done
ip link set lo up
echo "LAUNCHO-IPVS-BOOTED $(cut -d' ' -f1 /proc/uptime)"
cd /app && node dist/test/ipvs/guest.js
echo "LAUNCHO-IPVS-EXIT $?"
poweroff -f
