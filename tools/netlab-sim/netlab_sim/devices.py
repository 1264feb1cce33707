# Device and provider data extracted from netsim/devices/*.yml, netsim/providers/*.yml and
# netsim/defaults/*.yml of netlab 26.03 (device `parent` inheritance resolved,
# dictionary-valued group variables left out), plus the lookups netlab does on them.
import json

from .util import deep_merge

DEVICES_JSON = r'''
{
 "arubacx": {"clab":{"group_vars":{"netlab_check_delay":15,"netlab_check_retries":40,"netlab_ready":["ssh"]},"image":"vrnetlab/aruba_arubaos-cx:20250218160442","kind":"vr-aoscx"},"description":"ArubaOS-CX","group_vars":{"ansible_connection":"network_cli","ansible_network_os":"arubanetworks.aoscx.aoscx","ansible_ssh_pass":"admin","ansible_user":"admin","netlab_device_type":"arubacx"},"ifindex_offset":1,"interface_name":"1/1/{ifindex}","libvirt":{"image":"aruba/cx"},"loopback_interface_name":"loopback {ifindex}","mgmt_if":"mgmt"},
 "asav": {"clab":{"group_vars":{"ansible_become_password":"CiscoAsa1!","ansible_ssh_pass":"CiscoAsa1!","ansible_user":"admin","netlab_check_command":"exit\n","netlab_ready":["ssh"]},"image":"vrnetlab/cisco_asav:9-16-4-57","kind":"cisco_asav"},"description":"Cisco ASAv","group_vars":{"ansible_become_method":"enable","ansible_become_password":"vagrant1","ansible_connection":"network_cli","ansible_network_os":"asa","ansible_ssh_pass":"vagrant1","ansible_user":"vagrant","netlab_check_retries":50,"netlab_ssh_args":"-o KexAlgorithms=+diffie-hellman-group14-sha1 -o PubkeyAcceptedKeyTypes=+ssh-rsa -o HostKeyAlgorithms=+ssh-rsa"},"ifindex_offset":0,"interface_name":"GigabitEthernet0/{ifindex}","libvirt":{"image":"cisco/asav"},"mgmt_if":"Management0/0"},
 "cat8000v": {"clab":{"group_vars":{"ansible_become_password":"admin","ansible_ssh_pass":"admin","ansible_user":"admin","netlab_check_retries":50,"netlab_ready":["ssh"]},"image":"vrnetlab/cisco_c8000v:17.16.01a","kind":"cisco_c8000v"},"description":"Cisco Catalyst 8000v","group_vars":{"ansible_become_method":"enable","ansible_become_password":"vagrant","ansible_connection":"network_cli","ansible_network_os":"ios","ansible_ssh_pass":"vagrant","ansible_user":"vagrant","netlab_device_type":"cat8000v","netlab_initial":"always","netlab_ssh_args":"-o KexAlgorithms=+diffie-hellman-group-exchange-sha1 -o PubkeyAcceptedKeyTypes=ssh-rsa -o HostKeyAlgorithms=+ssh-rsa"},"ifindex_offset":2,"interface_name":"GigabitEthernet{ifindex}","libvirt":{"image":"cisco/cat8000v"},"loopback_interface_name":"Loopback{ifindex}","role":"router"},
 "cisco8000v": {"clab":{"group_vars":{"netlab_check_retries":50,"netlab_ready":["ssh"]},"image":"cisco/cisco-8201-32fh:24.4.1","kind":"cisco_c8000"},"description":"Cisco 8000v (IOS/XR)","group_vars":{"ansible_become_method":"enable","ansible_become_password":"cisco123","ansible_connection":"network_cli","ansible_network_os":"iosxr","ansible_ssh_pass":"cisco123","ansible_user":"cisco","netlab_device_type":"cisco8000v"},"ifindex_offset":0,"interface_name":"FourHundredGigE0/0/0/{ifindex}","loopback_interface_name":"Loopback{ifindex}","mgmt_if":"MgmtEth0/RP0/CPU0/0"},
 "crpd": {"clab":{"config_templates":{"hosts":"/etc/hosts:shared","netlab-config":"/config/netlab/netlab-config.sh:sh"},"group_vars":{"netlab_check_command":"who","netlab_config_mode":"sh","netlab_config_path":"/config/netlab/","netlab_default_shebang":"#!/config/netlab/netlab-config.sh","netlab_ready":["ssh"],"netlab_show_command":["cli","-c","show $@"]},"image":"crpd:24.4R1.9","kind":"juniper_crpd"},"description":"Juniper cRPD container","group_vars":{"ansible_connection":"netconf","ansible_network_os":"junos","ansible_ssh_pass":"clab123","ansible_user":"root","netlab_check_retries":20,"netlab_console_connection":"ssh","netlab_device_type":"crpd","netlab_ready":["ansible"]},"ifindex_offset":0,"interface_name":"eth{ifindex+1}","loopback_interface_name":"lo0","mgmt_if":"eth0","mtu":1500},
 "csr": {"clab":{"group_vars":{"ansible_become_password":"admin","ansible_ssh_pass":"admin","ansible_user":"admin","netlab_check_retries":50,"netlab_ready":["ssh"]},"image":"vrnetlab/vr-csr:17.03.04","kind":"cisco_csr1000v"},"description":"Cisco CSR 1000v","group_vars":{"ansible_become_method":"enable","ansible_become_password":"vagrant","ansible_connection":"network_cli","ansible_network_os":"ios","ansible_ssh_pass":"vagrant","ansible_user":"vagrant","netlab_device_type":"csr","netlab_initial":"always","netlab_ssh_args":"-o KexAlgorithms=+diffie-hellman-group-exchange-sha1 -o PubkeyAcceptedKeyTypes=ssh-rsa -o HostKeyAlgorithms=+ssh-rsa"},"ifindex_offset":2,"interface_name":"GigabitEthernet{ifindex}","libvirt":{"image":"cisco/csr1000v"},"loopback_interface_name":"Loopback{ifindex}","role":"router"},
 "cumulus": {"clab":{"config_templates":{"hosts":"/etc/hosts:shared","interfaces":"/etc/network/interfaces"},"group_vars":{"ansible_connection":"docker","ansible_user":"root"},"image":"networkop/cx:4.4.0","kind":"cvx"},"description":"Cumulus VX 4.x or 5.x configured without NVUE","group_vars":{"ansible_connection":"paramiko","ansible_network_os":"cumulus","ansible_ssh_pass":"vagrant","ansible_user":"vagrant","netlab_initial":"always","netlab_show_command":["sudo","vtysh","-c","show $@"]},"interface_name":"swp{ifindex}","libvirt":{"image":"CumulusCommunity/cumulus-vx:4.4.5"},"loopback_interface_name":"lo{ifindex if ifindex else \"\"}","mgmt_if":"eth0","mtu":1500},
 "cumulus_nvue": {"clab":{"group_vars":{"ansible_connection":"docker","ansible_user":"root"},"image":"networkop/cx:5.3.0","kind":"cvx"},"description":"Cumulus VX 5.x configured with NVUE","group_vars":{"ansible_connection":"paramiko","ansible_network_os":"cumulus_nvue","ansible_python_interpreter":"auto_silent","ansible_ssh_pass":"GetLost1!","ansible_user":"cumulus","netlab_ready":["ansible"]},"interface_name":"swp{ifindex}","libvirt":{"image":"CumulusCommunity/cumulus-vx:5.10.0"},"loopback_interface_name":"lo{ifindex if ifindex else \"\"}","mgmt_if":"eth0","mtu":1500},
 "dellos10": {"clab":{"group_vars":{"ansible_ssh_pass":"admin","ansible_user":"admin","netlab_check_delay":10,"netlab_check_retries":40,"netlab_ready":["ssh"],"netlab_start_exec":["sleep 15"]},"image":"vrnetlab/vr-ftosv","kind":"vr-ftosv"},"description":"Dell OS10","group_vars":{"ansible_connection":"network_cli","ansible_network_os":"dellos10","ansible_ssh_pass":"vagrant","ansible_user":"vagrant","netlab_save_config":true},"interface_name":"ethernet1/1/{ifindex}","libvirt":{"image":"dell/os10"},"loopback_interface_name":"loopback{ifindex}","mgmt_if":"mgmt1/1/1","mtu":1500},
 "eos": {"clab":{"group_vars":{"ansible_become":true,"ansible_become_method":"enable","ansible_ssh_pass":"admin","ansible_user":"admin","netlab_config_path":"/mnt/flash/","netlab_config_wrapper":"{% if netlab_need_shebang %}\n#!/usr/bin/FastCli\nconfigure terminal\n{% endif %}\n{{ netlab_config_text }}\n{% if netlab_need_shebang %}\nend\n{% endif %}\n","netlab_ready":["ssh"]},"image":"ceos:4.34.2F","kind":"ceos","mgmt_if":"Management0"},"description":"Arista vEOS VM or cEOS container","group_vars":{"ansible_connection":"network_cli","ansible_network_os":"eos","ansible_ssh_pass":"vagrant","ansible_user":"vagrant","netlab_config_remove":["no lldp transmit","no lldp receive"]},"interface_name":"Ethernet{ifindex}","libvirt":{"image":"arista/veos"},"loopback_interface_name":"Loopback{ifindex}","mgmt_if":"Management1","role":"router"},
 "fortios": {"clab":{"image":"vrnetlab/vr-fortios:7.4.8"},"description":"Fortinet FortiOS firewall","group_vars":{"ansible_connection":"httpapi","ansible_httpapi_port":80,"ansible_httpapi_use_ssl":false,"ansible_httpapi_validate_certs":false,"ansible_network_os":"fortinet.fortios.fortios","ansible_password":"admin","ansible_ssh_pass":"admin","ansible_user":"admin","collections":["fortinet.fortios"],"mgmt_if":"port1","netlab_console_connection":"ssh","netlab_ready":["ansible"],"netlab_vdom":"root","vdom":"root"},"ifindex_offset":2,"interface_name":"port{ifindex}","libvirt":{"image":"fortinet/fortios"},"loopback_interface_name":"loopback{ifindex}","mtu":1500},
 "frr": {"clab":{"config_templates":{"daemons":"/etc/frr/daemons","hosts":"/etc/hosts:shared"},"group_vars":{"ansible_connection":"docker","ansible_user":"root","netlab_config_exec":["sleep 1"],"netlab_config_mode":"sh","netlab_default_shebang":"#!/usr/bin/vtysh -f","netlab_mgmt_vrf":true,"netlab_show_command":["vtysh","-c","show $@"]},"image":"quay.io/frrouting/frr:10.5.3","kind":"linux"},"description":"FRR container","group_vars":{"ansible_network_os":"frr","ansible_python_interpreter":"auto_silent","netlab_initial":"always"},"interface_name":"eth{ifindex}","libvirt":{"group_vars":{"ansible_connection":"paramiko","ansible_ssh_pass":"vagrant","ansible_ssh_private_key_file":".vagrant/machines/{{ inventory_hostname }}/libvirt/private_key","ansible_user":"vagrant","netlab_show_command":["sudo","vtysh","-c","show $@"]},"image":"debian/bookworm64"},"loopback_interface_name":"lo{ifindex if ifindex else \"\"}","mgmt_if":"eth0","mtu":1500,"role":"router"},
 "iol": {"clab":{"config_templates":{"ifstate":"/iol/ifstate.cfg"},"group_vars":{"ansible_become_password":"admin","ansible_ssh_pass":"admin","ansible_user":"admin","netlab_check_retries":20,"netlab_device_type":"iol","netlab_ready":["ssh"]},"image":"vrnetlab/cisco_iol:17.16.01a","kind":"cisco_iol"},"description":"Cisco IOL","group_vars":{"ansible_become_method":"enable","ansible_connection":"network_cli","ansible_network_os":"ios","netlab_initial":"always","netlab_ssh_args":"-o KexAlgorithms=+diffie-hellman-group-exchange-sha1 -o PubkeyAcceptedKeyTypes=ssh-rsa -o HostKeyAlgorithms=+ssh-rsa"},"interface_name":"Ethernet{ifindex // 4}/{ifindex % 4}","loopback_interface_name":"Loopback{ifindex}","role":"router"},
 "ioll2": {"clab":{"config_templates":{"ifstate":"/iol/ifstate.cfg"},"group_vars":{"ansible_become_password":"admin","ansible_ssh_pass":"admin","ansible_user":"admin","netlab_check_retries":20,"netlab_device_type":"ioll2","netlab_ready":["ssh"]},"image":"vrnetlab/cisco_iol:L2-17.16.01a","kind":"cisco_iol"},"description":"IOSv L2 image","group_vars":{"ansible_become_method":"enable","ansible_connection":"network_cli","ansible_network_os":"ios","netlab_initial":"always","netlab_ssh_args":"-o KexAlgorithms=+diffie-hellman-group-exchange-sha1 -o PubkeyAcceptedKeyTypes=ssh-rsa -o HostKeyAlgorithms=+ssh-rsa"},"interface_name":"Ethernet{ifindex // 4}/{ifindex % 4}","loopback_interface_name":"Loopback{ifindex}","role":"router"},
 "ios": {"clab":{"group_vars":{"ansible_become_password":"admin","ansible_ssh_pass":"admin","ansible_user":"admin","netlab_check_retries":50,"netlab_ready":["ssh"]}},"description":"Generic Cisco IOS device (meta device, used only as parent)","group_vars":{"ansible_become_method":"enable","ansible_connection":"network_cli","ansible_network_os":"ios","netlab_initial":"always","netlab_ssh_args":"-o KexAlgorithms=+diffie-hellman-group-exchange-sha1 -o PubkeyAcceptedKeyTypes=ssh-rsa -o HostKeyAlgorithms=+ssh-rsa"},"loopback_interface_name":"Loopback{ifindex}","role":"router"},
 "iosv": {"clab":{"group_vars":{"ansible_become_password":"admin","ansible_ssh_pass":"admin","ansible_user":"admin","netlab_check_retries":50,"netlab_ready":["ssh"]},"image":"vrnetlab/cisco_vios:15.9.3","kind":"cisco_vios"},"description":"Cisco IOSv","group_vars":{"ansible_become_method":"enable","ansible_become_password":"vagrant","ansible_connection":"network_cli","ansible_network_os":"ios","ansible_ssh_pass":"vagrant","ansible_user":"vagrant","netlab_device_type":"ios","netlab_initial":"always","netlab_ssh_args":"-o KexAlgorithms=+diffie-hellman-group-exchange-sha1 -o PubkeyAcceptedKeyTypes=ssh-rsa -o HostKeyAlgorithms=+ssh-rsa"},"interface_name":"GigabitEthernet0/{ifindex}","libvirt":{"image":"cisco/iosv"},"loopback_interface_name":"Loopback{ifindex}","role":"router"},
 "iosvl2": {"clab":{"group_vars":{"ansible_become_password":"admin","ansible_ssh_pass":"admin","ansible_user":"admin","netlab_check_retries":50,"netlab_ready":["ssh"]},"image":"vrnetlab/cisco_vios:L2-15.2","kind":"cisco_vios"},"description":"IOSv L2 image","group_vars":{"ansible_become_method":"enable","ansible_become_password":"vagrant","ansible_connection":"network_cli","ansible_network_os":"ios","ansible_ssh_pass":"vagrant","ansible_user":"vagrant","netlab_device_type":"iosvl2","netlab_initial":"always","netlab_ssh_args":"-o KexAlgorithms=+diffie-hellman-group-exchange-sha1 -o PubkeyAcceptedKeyTypes=ssh-rsa -o HostKeyAlgorithms=+ssh-rsa"},"interface_name":"GigabitEthernet{ifindex // 4}/{ifindex % 4}","libvirt":{"image":"cisco/iosvl2"},"loopback_interface_name":"Loopback{ifindex}","role":"router"},
 "iosxr": {"clab":{"config_templates":{"netlab-config":"/config/netlab/netlab-config.sh:sh"},"group_vars":{"ansible_become_password":"clab@123","ansible_ssh_pass":"clab@123","ansible_user":"clab","netlab_config_path":"/config/netlab/","netlab_default_shebang":"#!/config/netlab/netlab-config.sh","netlab_ready":["ssh"]},"image":"ios-xr/xrd-control-plane:25.2.1","kind":"cisco_xrd","mgmt_if":"MgmtEth0/RP0/CPU0/0"},"description":"Cisco IOS XRv","group_vars":{"ansible_become_method":"enable","ansible_become_password":"vagrant","ansible_connection":"network_cli","ansible_network_os":"iosxr","ansible_ssh_pass":"vagrant","ansible_user":"vagrant"},"ifindex_offset":0,"interface_name":"GigabitEthernet0/0/0/{ifindex}","libvirt":{"image":"cisco/iosxr"},"loopback_interface_name":"Loopback{ifindex}","mgmt_if":"MgmtEth0/RP0/CPU0/0"},
 "junos": {"clab":{"group_vars":{"netlab_ready":["ssh","ansible"]}},"description":"Generic Juniper device (meta device, used only as parent)","group_vars":{"ansible_connection":"netconf","ansible_network_os":"junos","ansible_ssh_pass":"Vagrant","ansible_user":"vagrant","netlab_console_connection":"ssh","netlab_ready":["ansible"]},"ifindex_offset":0,"interface_name":"ge-0/0/{ifindex}","loopback_interface_name":"lo0.{ifindex}","mgmt_if":"fxp0"},
 "linux": {"clab":{"config_templates":{"hosts":"/etc/hosts:shared"},"group_vars":{"ansible_connection":"docker","ansible_user":"root","netlab_linux_distro":"vanilla"},"image":"python:3.13-alpine","kind":"linux"},"description":"Generic Linux host","group_vars":{"ansible_connection":"paramiko","ansible_network_os":"linux","ansible_python_interpreter":"auto_silent","ansible_ssh_pass":"vagrant","ansible_user":"vagrant","docker_shell":"sh -il","netlab_lldp_enable":false,"netlab_net_tools":false},"interface_name":"eth{ifindex}","libvirt":{"group_vars":{"netlab_linux_distro":"ubuntu"},"image":"bento/ubuntu-24.04"},"loopback_interface_name":"lo{ifindex if ifindex else \"\"}","mgmt_if":"eth0","role":"host"},
 "netscaler": {"clab":{"group_vars":{"ansible_connection":"docker","ansible_ssh_pass":"clab@123","ansible_user":"clab","netlab_ready":["ansible"],"netlab_show_command":["nscli","-U","127.0.0.1:clab:clab@123","show $@"]},"image":"netlab/netscaler","kind":"linux"},"description":"Citrix Netscaler ADC CPX","group_vars":{"ansible_network_os":"netscaler","ansible_python_interpreter":"auto_silent"},"interface_name":"0/{ifindex+2}","mgmt_if":"0/2","mtu":1500,"role":"router"},
 "nxos": {"clab":{"group_vars":{"ansible_ssh_pass":"admin","ansible_user":"admin","netlab_ready":["ssh","ansible"]},"image":"vrnetlab/vr-n9kv:9.3.8","kind":"cisco_n9kv"},"description":"Cisco Nexus 9300v","group_vars":{"ansible_connection":"network_cli","ansible_network_os":"nxos","ansible_ssh_pass":"vagrant","ansible_user":"vagrant","netlab_check_delay":10,"netlab_check_retries":50,"netlab_ready":["ansible"],"netlab_ssh_args":"-o KexAlgorithms=+diffie-hellman-group14-sha1 -o PubkeyAcceptedKeyTypes=+ssh-rsa -o HostKeyAlgorithms=+ssh-rsa"},"interface_name":"Ethernet1/{ifindex}","libvirt":{"image":"cisco/nexus9300v"},"loopback_interface_name":"loopback{ifindex}","mgmt_if":"mgmt0"},
 "openbsd": {"clab":{"group_vars":{"ansible_ssh_pass":"admin","ansible_user":"admin","netlab_check_command":"who","netlab_ready":["ssh"]},"image":"vrnetlab/openbsd_openbsd:7.7","kind":"openbsd"},"description":"OpenBSD","group_vars":{"ansible_connection":"paramiko","ansible_network_os":"openbsd","ansible_python_interpreter":"auto_silent","ansible_ssh_pass":"vagrant","ansible_user":"openbsd","docker_shell":"sh -il","netlab_check_retries":30},"ifindex_offset":1,"interface_name":"vio{ifindex}","libvirt":{"image":"netlab/openbsd"},"loopback_interface_name":"lo{ifindex}","mgmt_if":"vio0","role":"router"},
 "routeros": {"description":"Mikrotik RouterOS version 6","group_vars":{"ansible_connection":"network_cli","ansible_network_os":"routeros","ansible_ssh_pass":"admin","ansible_user":"admin"},"ifindex_offset":2,"interface_name":"ether{ifindex}","libvirt":{"image":"mikrotik/chr"},"loopback_interface_name":"loopback","mgmt_if":"ether1"},
 "routeros7": {"clab":{"group_vars":{"netlab_check_command":"/system/resource/print","netlab_check_retries":50,"netlab_ready":["ssh"]},"image":"vrnetlab/mikrotik_routeros:7.18.2","kind":"vr-ros"},"description":"Mikrotik RouterOS version 7","group_vars":{"ansible_connection":"network_cli","ansible_network_os":"routeros","ansible_ssh_pass":"admin","ansible_user":"admin","netlab_device_type":"routeros7"},"ifindex_offset":2,"interface_name":"ether{ifindex}","libvirt":{"image":"mikrotik/chr7"},"loopback_interface_name":"loopback{ifindex if ifindex else \"\"}","mgmt_if":"ether1"},
 "sonic": {"description":"Sonic VM","group_vars":{"ansible_network_os":"frr","ansible_python_interpreter":"auto_silent","netlab_device_type":"sonic"},"ifindex_offset":0,"interface_name":"Ethernet{ifindex * 4}","libvirt":{"group_vars":{"ansible_connection":"paramiko","ansible_ssh_pass":"YourPaSsWoRd","ansible_user":"admin","netlab_show_command":["sudo","vtysh","-c","show $@"]},"image":"netlab/sonic"},"loopback_interface_name":"Loopback{ifindex}","mgmt_if":"eth0"},
 "srlinux": {"clab":{"config_templates":{"hosts":"/etc/hosts"},"group_vars":{"srlinux_grpc_port":57400},"image":"ghcr.io/nokia/srlinux:25.10.2","kind":"srl"},"description":"Nokia SR Linux container","group_vars":{"ansible_connection":"paramiko","ansible_network_os":"srlinux","ansible_ssh_pass":"NokiaSrl1!","ansible_user":"admin","netlab_console_connection":"ssh"},"interface_name":"ethernet-1/{ifindex}","loopback_interface_name":"lo0.{ifindex}","mgmt_if":"mgmt0"},
 "sros": {"clab":{"group_vars":{"sros_grpc_port":57400},"image":"vrnetlab/vr-sros","kind":"vr-sros"},"description":"Nokia SR OS VM in container","group_vars":{"ansible_connection":"paramiko_ssh","ansible_network_os":"sros","ansible_ssh_pass":"admin","ansible_user":"admin","netlab_console_connection":"ssh","netlab_ready":["ansible"],"sros_use_openconfig":false},"interface_name":"eth-1/1/c{ifindex}","loopback_interface_name":"{\"loopback.\"+str(ifindex) if ifindex else \"system\"}","mgmt_if":"A/1"},
 "srsim": {"clab":{"group_vars":{"sros_grpc_port":57400},"image":"nokia_srsim:25.7.R1","kind":"nokia_srsim"},"description":"Nokia SR-SIM (SR-OS) container","group_vars":{"ansible_connection":"paramiko_ssh","ansible_network_os":"sros","ansible_ssh_pass":"NokiaSros1!","ansible_user":"admin","netlab_console_connection":"ssh","netlab_device_type":"srsim","netlab_ready":["ansible"],"netlab_srsim_first_port":"1/1/c1","netlab_srsim_hw":[{"card-type":"iom-1","mda":[{"mda-slot":1,"mda-type":"me12-100gb-qsfp28"},{"mda-slot":2,"mda-type":"me12-100gb-qsfp28"}],"slot-number":1}],"sros_use_openconfig":false},"interface_name":"eth-1/{ifindex // 12 + 1}/c{(ifindex - 1) % 12 + 1}","loopback_interface_name":"{\"loopback.\"+str(ifindex) if ifindex else \"system\"}","mgmt_if":"A/1"},
 "vjunos-router": {"clab":{"group_vars":{"ansible_ssh_pass":"admin@123","ansible_user":"admin","netlab_check_delay":10,"netlab_check_retries":60,"netlab_ready":["ssh","ansible"]},"image":"vrnetlab/juniper_vjunos-router:23.4R2-S2.1","kind":"juniper_vjunosrouter"},"description":"vJunos Router (similar to vMX)","group_vars":{"ansible_connection":"netconf","ansible_network_os":"junos","ansible_ssh_pass":"admin@123","ansible_user":"admin","netlab_check_retries":20,"netlab_console_connection":"ssh","netlab_device_type":"vjunos-router","netlab_license_url":"https://www.juniper.net/content/dam/www/assets/dm/us/en/E421992502.txt","netlab_ready":["ansible"]},"ifindex_offset":0,"interface_name":"ge-0/0/{ifindex}","loopback_interface_name":"lo0.{ifindex}","mgmt_if":"fxp0"},
 "vjunos-switch": {"clab":{"group_vars":{"ansible_ssh_pass":"admin@123","ansible_user":"admin","netlab_check_delay":10,"netlab_check_retries":40,"netlab_ready":["ssh","ansible"]},"image":"vrnetlab/juniper_vjunos-switch:23.4R2-S2.1","kind":"juniper_vjunosswitch"},"description":"vJunos Switch","group_vars":{"ansible_connection":"netconf","ansible_network_os":"junos","ansible_ssh_pass":"Vagrant","ansible_user":"vagrant","netlab_console_connection":"ssh","netlab_device_type":"vjunos-switch","netlab_ready":["ansible"]},"ifindex_offset":0,"interface_name":"ge-0/0/{ifindex}","loopback_interface_name":"lo0.{ifindex}","mgmt_if":"fxp0"},
 "vmx": {"clab":{"group_vars":{"netlab_ready":["ssh","ansible"]},"image":"vrnetlab/vr-vmx:18.2R1.9","kind":"vr-vmx"},"description":"Juniper vMX container","group_vars":{"ansible_connection":"netconf","ansible_network_os":"junos","ansible_ssh_pass":"admin@123","ansible_user":"admin","netlab_check_retries":20,"netlab_console_connection":"ssh","netlab_device_type":"vmx","netlab_license_url":"https://www.juniper.net/content/dam/www/assets/dm/us/en/E421992502.txt","netlab_ready":["ansible"]},"ifindex_offset":0,"interface_name":"ge-0/0/{ifindex}","loopback_interface_name":"lo0.{ifindex}","mgmt_if":"fxp0"},
 "vptx": {"clab":{"group_vars":{"ansible_ssh_pass":"admin@123","ansible_user":"admin","netlab_check_delay":10,"netlab_check_retries":40,"netlab_ready":["ssh","ansible"]},"image":"vrnetlab/juniper_vjunosevolved:25.2R1.8-EVO","kind":"juniper_vjunosevolved"},"description":"Juniper vPTX","group_vars":{"ansible_connection":"netconf","ansible_network_os":"junos","ansible_ssh_pass":"Vagrant","ansible_user":"vagrant","netlab_console_connection":"ssh","netlab_device_type":"vptx","netlab_ready":["ansible"]},"ifindex_offset":0,"interface_name":"et-0/0/{ifindex}","libvirt":{"image":"juniper/vptx"},"loopback_interface_name":"lo0.{ifindex}","mgmt_if":"re0:mgmt-0"},
 "vsrx": {"clab":{"group_vars":{"ansible_ssh_pass":"admin@123","ansible_user":"admin","netlab_check_delay":10,"netlab_check_retries":60,"netlab_ready":["ssh","ansible"]},"image":"vrnetlab/juniper_vsrx:21.3R1.9","kind":"vr-vsrx"},"description":"Juniper vSRX 3.0","group_vars":{"ansible_connection":"netconf","ansible_network_os":"junos","ansible_ssh_pass":"Vagrant","ansible_user":"vagrant","netlab_console_connection":"ssh","netlab_device_type":"vsrx","netlab_ready":["ansible"]},"ifindex_offset":0,"interface_name":"ge-0/0/{ifindex}","libvirt":{"image":"juniper/vsrx3"},"loopback_interface_name":"lo0.{ifindex}","mgmt_if":"fxp0"},
 "vyos": {"clab":{"group_vars":{"ansible_connection":"docker","ansible_user":"vyos","netlab_ready":["ansible"]},"image":"ghcr.io/sysoleg/vyos-container","kind":"linux"},"description":"VyOS VM/container","group_vars":{"ansible_connection":"paramiko","ansible_network_os":"vyos","ansible_ssh_pass":"vyos","ansible_user":"vyos","docker_shell":"su - vyos"},"interface_name":"eth{ifindex}","libvirt":{"image":"vyos/current"},"loopback_interface_name":"dum{ifindex}","mgmt_if":"eth0"},
 "xr": {"clab":{"group_vars":{"netlab_ready":["ssh"]}},"description":"Cisco IOS XR Meta (Parent) Device","group_vars":{"ansible_become_method":"enable","ansible_connection":"network_cli","ansible_network_os":"iosxr"},"ifindex_offset":0,"interface_name":"GigabitEthernet0/0/0/{ifindex}","loopback_interface_name":"Loopback{ifindex}","mgmt_if":"MgmtEth0/RP0/CPU0/0"}
}
'''

PROVIDERS = {
  'clab': {
    'description': 'containerlab with Docker',
    'config': 'clab.yml',
    'lab_prefix': 'clab',
    'runtime': 'docker',
    'bridge_type': 'bridge',
    'start': 'sudo -E containerlab deploy --reconfigure -t clab.yml',
    'stop': 'sudo -E containerlab destroy --cleanup -t clab.yml',
    'probe': ['containerlab version',
              "bash -c [[ `containerlab version|awk '/version/ {print $2}'` > '0.71.999' ]] && echo OK"],
    'cleanup': ['clab.yml', 'clab_files'],
  },
  'libvirt': {
    'description': 'Vagrant with libvirt/KVM',
    'config': 'Vagrantfile',
    'start': 'vagrant up --provider libvirt',
    'stop': 'vagrant destroy -f',
    'probe': ['stat /usr/sbin/kvm-ok', '/usr/sbin/kvm-ok', 'which virsh', 'which vagrant',
              'bash -c vagrant plugin list|grep vagrant-libvirt', 'virsh net-list'],
    'cleanup': ['Vagrantfile'],
    'tunnel_id': 1,
    'vifprefix': 'vgif',
    'clab': {                       # containers in a libvirt lab (secondary provider)
      'start': 'sudo -E containerlab deploy --reconfigure -t clab-augment.yml',
      'stop': 'sudo -E containerlab destroy --cleanup -t clab-augment.yml',
      'filename': 'clab-augment.yml',
      'recreate_config': True,
    },
  },
}
KNOWN_PROVIDERS = ('clab', 'libvirt', 'virtualbox', 'external')

SYSTEM_DEFAULTS = {
  'provider': 'libvirt',
  'const': {'multi_provider': ['libvirt', 'clab']},
  'addressing': {
    'loopback': {'ipv4': '10.0.0.0/24', 'prefix': 32},
    'router_id': {'ipv4': '10.0.0.0/24', 'prefix': 32},
    'lan': {'ipv4': '172.16.0.0/16', 'prefix': 24},
    'p2p': {'ipv4': '10.1.0.0/16', 'prefix': 30},
    'mgmt': {'ipv4': '192.168.121.0/24', 'start': 100, 'mac': 'CA-FE-00-00-00-00'},
    'vrf_loopback': {'ipv4': '10.2.0.0/24', 'prefix': 32},
  },
  'multilab': {                     # netsim/defaults/multilab.yml
    'change': {
      'name': 'ml-{id}',
      'defaults.name': 'ml-{id}',
      'defaults.providers.libvirt.tunnel_id': '{id}',
      'defaults.providers.libvirt.vifprefix': 'vgif_{id}',
      'addressing.mgmt': {'ipv4': '192.168.{id}.0/24', '_network': 'nl_mgmt_{id}',
                          '_bridge': 'nl_mgmt_{id}'},
    },
  },
  'automation': {
    'ansible': {'cleanup': ['ansible.cfg', 'hosts.yml', 'group_vars', 'host_vars', 'config']},
    'configs': {'cleanup': ['node_files']},
  },
}

# Top-level topology attributes netlab accepts (global attributes, internal ones, module names).
TOPOLOGY_ATTRIBUTES = {
  'addressing', 'defaults', 'groups', 'links', 'module', 'name', 'nodes', 'plugin', 'prefix',
  'provider', 'tools', 'validate', 'version', 'input', 'pools', 'message', 'vlans', 'vrfs',
  'components', 'bgp', 'ospf', 'isis', 'eigrp', 'ripv2', 'bfd', 'evpn', 'vxlan', 'mpls', 'sr',
  'srv6', 'gateway', 'routing', 'lag', 'stp', 'dhcp', 'lldp', 'vlan', 'vrf', 'files',
  'configlets', 'graph', 'report', 'lab_status', 'clab', 'libvirt', 'virtualbox', 'external',
  'outputs', 'providers', 'tests', 'netlab', 'multilab'}

# Plugins shipped with netlab that the simulator accepts; only multilab changes anything.
KNOWN_PLUGINS = {
  'multilab', 'files', 'bgp.session', 'bgp.policy', 'bgp.domain', 'ebgp.multihop', 'ebgp.utils',
  'bonding', 'check.config', 'fabric', 'mlag.vtep', 'node.clone', 'vrrp.version', 'ospf.areas',
  'evpn.multihoming', 'bgp.originate', 'vxlan.static', 'test.fixup'}

_devices = None


def devices():
  global _devices
  if _devices is None:
    _devices = json.loads(DEVICES_JSON)
  return _devices


def dev_attr(device, provider, attr, default=None):
  """devices.get_device_attribute on the built-in device data: the provider-specific value,
  merged with the generic one when both are dictionaries."""
  data = devices().get(device, {})
  pdata = data.get(provider) if isinstance(data.get(provider), dict) else {}
  if attr in pdata and not isinstance(pdata[attr], dict):
    return pdata[attr]
  value = data.get(attr)
  if isinstance(value, dict) and isinstance(pdata.get(attr), dict):
    return deep_merge(value, pdata[attr])
  if attr in pdata:
    return pdata[attr]
  return value if attr in data else default
