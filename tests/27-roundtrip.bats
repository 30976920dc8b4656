#!/usr/bin/env bats
# Conversion both ways through the one writer (issue 16): a torch.save
# checkpoint exported to safetensors (a file, and Hugging Face shards with
# their index), the export mounted and saved back as torch.save, and
# torch.load of the result equal to the original, tensor for tensor.

load helpers

setup() {
	load_libs
	need_fuse
	need_torch
	D="$BATS_TEST_TMPDIR"
	"$TORCH_PY" - "$D/orig.pt" <<-'EOF'
		import collections, sys, torch
		torch.manual_seed(0)
		sd = collections.OrderedDict()
		sd["enc.0.weight"] = torch.randn(8, 4)
		sd["enc.0.bias"] = torch.randn(8)
		sd["enc.1.weight"] = torch.randn(3, 8).to(torch.bfloat16)
		sd["norm.running_mean"] = torch.zeros(8, dtype=torch.float64)
		sd["norm.num_batches_tracked"] = torch.tensor(7)
		sd["mask"] = torch.tensor([True, False, True])
		sd["ids"] = torch.arange(10, dtype=torch.int32)
		sd["half"] = torch.linspace(0, 1, 6).to(torch.float16)
		torch.save(sd, sys.argv[1])
	EOF
}

# same A B: torch.load(B) holds A's tensors under A's keys, equal and of A's dtype (in an
# order of its own: safetensors keeps no order, its writer sorts by dtype and name)
same() {
	"$TORCH_PY" - "$1" "$2" <<-'EOF'
		import sys, torch
		a = torch.load(sys.argv[1])
		b = torch.load(sys.argv[2])
		assert sorted(a) == sorted(b), (list(a), list(b))
		for k in a:
		    assert a[k].dtype == b[k].dtype, (k, a[k].dtype, b[k].dtype)
		    assert a[k].shape == b[k].shape, (k, a[k].shape, b[k].shape)
		    assert torch.equal(a[k], b[k]), k
		print("same", len(a))
	EOF
}

@test "round trip: .pt -> export safetensors -> mount -> save .pt -> torch.load equals the original" {
	mount_ckpt "$D/orig.pt"
	echo "export safetensors $D/model.safetensors" >"$MNT/.ptfs/control"
	[ -s "$D/model.safetensors" ]
	mount_ckpt "$D/model.safetensors"
	# the same tree: diff -r shows no tensor difference (the .ptfs folders describe two formats)
	run diff -r -x .ptfs "${MOUNTS[0]}" "$MNT"
	assert_success
	echo "save $D/back.pt" >"$MNT/.ptfs/control"
	run same "$D/orig.pt" "$D/back.pt"
	assert_success
	assert_output "same 8"
}

@test "round trip through shards: export --shard-size, mount the index, save, torch.load" {
	mount_ckpt "$D/orig.pt"
	echo "export safetensors $D/shards --shard-size 200B" >"$MNT/.ptfs/control"
	ls "$D/shards" >&3 2>/dev/null || true
	[ -s "$D/shards/model.safetensors.index.json" ]
	[ "$(ls "$D/shards" | grep -c '^model-0000[0-9]-of-0000[0-9].safetensors$')" -ge 2 ]
	mount_ckpt "$D/shards/model.safetensors.index.json"
	run diff -r -x .ptfs "${MOUNTS[0]}" "$MNT"
	assert_success
	echo "save $D/back.pt" >"$MNT/.ptfs/control"
	run same "$D/orig.pt" "$D/back.pt"
	assert_success
	# the folder holding the index mounts as the same set
	mount_ckpt "$D/shards"
	run diff -r -x .ptfs "${MOUNTS[0]}" "$MNT"
	assert_success
}

@test "round trip without a mount: ptfs export, then ptfs convert of the safetensors file" {
	run "$PTFS" export "$D/orig.pt" "$D/cli.safetensors"
	assert_success
	run "$PTFS" convert "$D/cli.safetensors" "$D/cli.pt"
	assert_success
	run same "$D/orig.pt" "$D/cli.pt"
	assert_success
	assert_output "same 8"
}
