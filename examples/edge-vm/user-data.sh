#!/bin/sh
# First boot of the VM: the MEC platform address and the instance's credentials arrive as
# instantiation parameters ($mep_ip, $ak, $sk) substituted by the OpenStack plugin.
echo "mep=$mep_ip" > /etc/mec-app.conf
