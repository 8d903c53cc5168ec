#!/usr/bin/env bats
# The link between hac-agent and hac-allocator over a real network (issue 15): HTTPS with the
# operator's CA pinned, a certificate the agent must refuse, client certificates, and no device
# token over plain HTTP to anything but loopback. Certificates are made here with openssl.

load ../lib/common
load ../lib/allocator_api

setup() {
	allocator_test_setup
	command -v openssl >/dev/null || skip "openssl is not installed"
	make_pki
}

teardown() { stop_all; }

# make_pki: in $BATS_TEST_TMPDIR/pki, a CA (ca.pem), a server certificate for 127.0.0.1 signed by
# it (server.pem, server.key), a client certificate signed by it (client.pem, client.key), and
# a server certificate for 127.0.0.1 signed by another CA (wrong.pem, wrong.key).
make_pki() {
	local d=$BATS_TEST_TMPDIR/pki
	mkdir -p "$d"
	(
		cd "$d"
		for ca in ca other; do
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
				-subj "/CN=hac test $ca" -keyout $ca.key -out $ca.pem
		done
		printf 'subjectAltName=IP:127.0.0.1\n' >server.ext
		sign() { # NAME CA SUBJECT [EXTFILE]
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" -keyout "$1.key" -out "$1.csr"
			openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 -out "$1.pem" ${4:+-extfile "$4"}
		}
		sign server ca 127.0.0.1 server.ext
		sign wrong other 127.0.0.1 server.ext
		sign client ca vm-1
		chmod 600 ./*.key
	) >"$BATS_TEST_TMPDIR/openssl.log" 2>&1 || { cat "$BATS_TEST_TMPDIR/openssl.log"; return 1; }
}

# tls_allocator CERT [CLIENT_CA]: the allocator's config with [tls] (CERT.pem, CERT.key).
tls_allocator() {
	write_allocator_config
	local d=$BATS_TEST_TMPDIR/pki
	cat >>"$BATS_TEST_TMPDIR/allocator.toml" <<EOT

[tls]
cert_file = "$d/$1.pem"
key_file = "$d/$1.key"
${2:+client_ca_file = \"$d/$2.pem\"}
EOT
	start_allocator
	ALLOCATOR_URL=https://127.0.0.1:$ALLOCATOR_PORT
}

# tls_agent [KEY = VALUE...]: the agent's config for https with the test CA, plus the lines given.
tls_agent() {
	write_agent_config
	local line
	{
		echo "ca_file = \"$BATS_TEST_TMPDIR/pki/ca.pem\""
		for line in "$@"; do echo "$line"; done
	} >>"$BATS_TEST_TMPDIR/agent.toml"
	start_agent
}

@test "over HTTPS with the operator's CA: the agent registers, runs a job and bills it; plain HTTP gets no answer" {
	tls_allocator server
	grep -q "listening on https://127.0.0.1:$ALLOCATOR_PORT" "$BATS_TEST_TMPDIR/allocator.log"
	tls_agent
	run hac-smi -s
	[[ $status == 0 ]]
	[[ $output == *"at https://127.0.0.1:$ALLOCATOR_PORT"* ]]
	[[ $output != *unreachable* && $output != *"not reached"* ]]
	run hac-run -- true
	[[ $status == 0 ]]
	wait_for "[[ \$(sqlite3 '$BATS_TEST_TMPDIR/allocator.db' 'SELECT count(*) FROM usage') == 1 ]]" 10
	# The allocator speaks TLS only: a plain request is no HTTP conversation.
	run curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$ALLOCATOR_PORT/v1/version"
	[[ $output == 000 ]]
	run curl -s -m 5 --cacert "$BATS_TEST_TMPDIR/pki/ca.pem" "https://127.0.0.1:$ALLOCATOR_PORT/v1/version"
	[[ $(jq -r .name <<<"$output") == hac-allocator ]]
}

@test "a certificate the operator's CA did not sign is refused: hac-run exits 4, hac-smi -s says why" {
	tls_allocator wrong
	tls_agent
	run hac-run -- true
	echo "$output"
	[[ $status == 4 ]]
	run hac-smi -s
	echo "$output"
	[[ $output == *"not reached yet"* ]]
	[[ $output == *"certificate"* ]]
	run hac-smi -s --json
	[[ $(jq -r .allocator.reachable <<<"$output") == false ]]
	[[ $(jq -r .allocator.last_error <<<"$output") == *certificate* ]]
	# Nothing was billed, nothing lent.
	[[ $(sqlite3 "$BATS_TEST_TMPDIR/allocator.db" 'SELECT count(*) FROM allocations') == 0 ]]
}

@test "an allocator that asks for client certificates: refused without one, served with the agent's" {
	tls_allocator server ca
	run curl -s -m 5 -w '\n%{http_code}' --cacert "$BATS_TEST_TMPDIR/pki/ca.pem" "https://127.0.0.1:$ALLOCATOR_PORT/v1/version"
	[[ ${lines[-1]} == 401 ]]
	[[ $(jq -r .error.code <<<"${lines[0]}") == client_certificate_required ]]
	# A certificate of another CA is no better.
	run curl -s -m 5 -w '\n%{http_code}' --cacert "$BATS_TEST_TMPDIR/pki/ca.pem" --cert "$BATS_TEST_TMPDIR/pki/wrong.pem" \
		--key "$BATS_TEST_TMPDIR/pki/wrong.key" "https://127.0.0.1:$ALLOCATOR_PORT/v1/version"
	[[ ${lines[-1]} != 200 ]]
	run curl -s -m 5 --cacert "$BATS_TEST_TMPDIR/pki/ca.pem" --cert "$BATS_TEST_TMPDIR/pki/client.pem" \
		--key "$BATS_TEST_TMPDIR/pki/client.key" "https://127.0.0.1:$ALLOCATOR_PORT/v1/version"
	[[ $(jq -r .name <<<"$output") == hac-allocator ]]
	tls_agent "client_cert_file = \"$BATS_TEST_TMPDIR/pki/client.pem\"" \
		"client_key_file = \"$BATS_TEST_TMPDIR/pki/client.key\""
	run hac-run -- true
	echo "$output"
	[[ $status == 0 ]]
}

@test "the agent refuses http:// to a non-loopback host when it loads its config, naming what to configure" {
	write_agent_config
	local url
	for url in http://192.0.2.10:7070 http://allocator.example:7070/ http://[2001:db8::1]:7070; do
		sed -i "s|^url = .*|url = \"$url\"|" "$BATS_TEST_TMPDIR/agent.toml"
		# strace shows that no connection was even tried.
		run strace -f -e trace=connect -o "$BATS_TEST_TMPDIR/strace.out" \
			timeout 5 hac-agent --config "$BATS_TEST_TMPDIR/agent.toml"
		echo "$output"
		[[ $status == 1 ]]
		[[ $output == *"agent.toml:"*"allocator.url: http:// to "*" would send the device token in clear over the network; use https:// (with ca_file = the operator's CA), or an allocator on a loopback address"* ]]
		[[ -z $(grep -v 'sa_family=AF_UNIX' "$BATS_TEST_TMPDIR/strace.out" | grep 'connect(') ]]
	done
	# Loopback by any of its names is development, and allowed.
	for url in http://127.0.0.1:1 http://127.1.2.3:1 http://localhost:1 http://[::1]:1; do
		sed -i "s|^url = .*|url = \"$url\"|" "$BATS_TEST_TMPDIR/agent.toml"
		run timeout 1 hac-agent --config "$BATS_TEST_TMPDIR/agent.toml"
		[[ $status == 124 ]]   # still running when stopped: the config was taken
		[[ $output != *"in clear"* ]]
	done
}

@test "the allocator's [tls]: a key open to others, a file that is not PEM and a missing key are refused at load" {
	write_allocator_config
	local d=$BATS_TEST_TMPDIR/pki
	cp "$d/server.key" "$d/open.key"
	chmod 644 "$d/open.key"
	printf '[tls]\ncert_file = "%s"\nkey_file = "%s"\n' "$d/server.pem" "$d/open.key" >>"$BATS_TEST_TMPDIR/allocator.toml"
	run timeout 5 hac-allocator --config "$BATS_TEST_TMPDIR/allocator.toml" --listen 127.0.0.1:0
	[[ $status == 1 ]]
	[[ $output == *"tls.key_file: $d/open.key is open to group or others; run 'chmod 600"* ]]
	sed -i "s|$d/open.key|$d/server.ext|" "$BATS_TEST_TMPDIR/allocator.toml"
	chmod 600 "$d/server.ext"
	run timeout 5 hac-allocator --config "$BATS_TEST_TMPDIR/allocator.toml" --listen 127.0.0.1:0
	[[ $output == *"tls.key_file: $d/server.ext is not PEM"* ]]
	sed -i '/^key_file/d' "$BATS_TEST_TMPDIR/allocator.toml"
	run timeout 5 hac-allocator --config "$BATS_TEST_TMPDIR/allocator.toml" --listen 127.0.0.1:0
	[[ $output == *"tls.key_file: missing"* ]]
}
