"""A local Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok).

Built from Go modules (`tools/kube/`) like the engine tools, started on loopback by
`invoke kube.up` or by the `kube` test tier; see docs/eks.md.
"""
