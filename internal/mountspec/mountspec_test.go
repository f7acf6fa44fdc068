package mountspec

import (
	"encoding/json"
	"path"
	"reflect"
	"strings"
	"testing"

	"berth.dev/berth/internal/errdefs"
)

// checkErr fails unless err is an invalid-argument error containing want
// (want "" means no error).
func checkErr(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return true
	}
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	if !errdefs.IsInvalidArgument(err) {
		t.Errorf("error %q is not of kind invalid argument", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	return false
}

func bindCreate() *BindOptions { return &BindOptions{CreateMountpoint: true} }

func TestParseVolume(t *testing.T) {
	tests := []struct {
		spec string
		want Mount
	}{
		{"/home", Mount{Type: TypeVolume, Target: "/home"}},
		{"/with space", Mount{Type: TypeVolume, Target: "/with space"}},
		{"/home:/home", Mount{Type: TypeBind, Source: "/home", Target: "/home", BindOptions: bindCreate()}},
		{"/home:/with space", Mount{Type: TypeBind, Source: "/home", Target: "/with space", BindOptions: bindCreate()}},
		{"/rw:/ro", Mount{Type: TypeBind, Source: "/rw", Target: "/ro", BindOptions: bindCreate()}},
		{"/:/host", Mount{Type: TypeBind, Source: "/", Target: "/host", BindOptions: bindCreate()}},
		{"/a/../b/:/c/./d/", Mount{Type: TypeBind, Source: "/b", Target: "/c/d", BindOptions: bindCreate()}},
		{"relative:/absolute-path", Mount{Type: TypeVolume, Source: "relative", Target: "/absolute-path"}},
		{"hostPath:/containerPath:ro", Mount{Type: TypeVolume, Source: "hostPath", Target: "/containerPath", ReadOnly: true}},
		{"name:/named3:ro", Mount{Type: TypeVolume, Source: "name", Target: "/named3", ReadOnly: true}},
		{"my_vol-1.x:/data:rw,nocopy", Mount{Type: TypeVolume, Source: "my_vol-1.x", Target: "/data", VolumeOptions: &VolumeOptions{NoCopy: true}}},
		{"/tmp:/tmp1", Mount{Type: TypeBind, Source: "/tmp", Target: "/tmp1", BindOptions: bindCreate()}},
		{"/tmp:/tmp2:ro", Mount{Type: TypeBind, Source: "/tmp", Target: "/tmp2", ReadOnly: true, BindOptions: bindCreate()}},
		{"/tmp:/tmp3:rw", Mount{Type: TypeBind, Source: "/tmp", Target: "/tmp3", BindOptions: bindCreate()}},
		{"/tmp:/tmp4:", Mount{Type: TypeBind, Source: "/tmp", Target: "/tmp4", BindOptions: bindCreate()}},
		{"/h:/c:shared", Mount{Type: TypeBind, Source: "/h", Target: "/c", BindOptions: &BindOptions{Propagation: "shared", CreateMountpoint: true}}},
		{"/h:/c:ro,Z,rprivate", Mount{Type: TypeBind, Source: "/h", Target: "/c", ReadOnly: true, BindOptions: &BindOptions{Propagation: "rprivate", CreateMountpoint: true}}},
		{"/h:/c:rslave,ro,Z", Mount{Type: TypeBind, Source: "/h", Target: "/c", ReadOnly: true, BindOptions: &BindOptions{Propagation: "rslave", CreateMountpoint: true}}},
		{"/h:/c:z,cached", Mount{Type: TypeBind, Source: "/h", Target: "/c", BindOptions: bindCreate()}},
		{"v1:/c:delegated,Z", Mount{Type: TypeVolume, Source: "v1", Target: "/c"}},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := ParseVolume(tc.spec)
			checkErr(t, err, "")
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseVolume(%q)\n got %+v\nwant %+v", tc.spec, got, tc.want)
			}
		})
	}

	// More of moby's valid specs: they must parse.
	for _, spec := range []string{
		"/home:/something/else", "/hostPath:/containerPath:rshared", "/hostPath:/containerPath:slave",
		"/hostPath:/containerPath:private", "/hostPath:/containerPath:ro,shared", "/hostPath:/containerPath:ro,slave",
		"/hostPath:/containerPath:ro,private", "/hostPath:/containerPath:ro,z,shared", "/hostPath:/containerPath:Z,ro,slave",
		"/hostPath:/containerPath:slave,Z,ro", "/hostPath:/containerPath:Z,slave,ro", "/hostPath:/containerPath:ro,rshared,Z",
	} {
		if _, err := ParseVolume(spec); err != nil {
			t.Errorf("ParseVolume(%q): %v", spec, err)
		}
	}
}

func TestParseVolumeErrors(t *testing.T) {
	tests := []struct {
		spec string
		want string
	}{
		// moby's linux_parser_test.go
		{"", "invalid volume specification: ''"},
		{"./", "invalid volume specification: './': invalid mount config for type \"volume\": invalid mount path: './' mount path must be absolute"},
		{"../", "mount path must be absolute"},
		{"/:../", "mount path must be absolute"},
		{"/:path", `invalid volume specification: '/:path': invalid mount config for type "bind": invalid mount path: 'path' mount path must be absolute`},
		{":", "invalid volume specification"},
		{"/tmp:", "invalid volume specification: '/tmp:'"},
		{":test", "invalid volume specification"},
		{":/test", "invalid volume specification"},
		{"tmp:", "invalid volume specification"},
		{":test:", "invalid volume specification"},
		{"::", "invalid volume specification"},
		{":::", "invalid volume specification"},
		{"/tmp:::", "invalid volume specification: '/tmp:::'"},
		{":/tmp::", "invalid volume specification"},
		{"/path:rw", "invalid volume specification: '/path:rw'"},
		{"/path:ro", "invalid volume specification"},
		{"/rw:rw", "invalid volume specification"},
		{"path:ro", "invalid volume specification"},
		{"/path:shared", "invalid volume specification"},
		{"/path:/path:sw", "invalid mode: sw"},
		{"/path:/path:rwz", "invalid mode: rwz"},
		{"/path:/path:ro,rshared,rslave", "invalid mode: ro,rshared,rslave"},
		{"/path:/path:ro,z,rshared,rslave", "invalid mode"},
		{"/tmp:/tmp4:foo", "invalid mode: foo"},
		{"/tmp:tmp", "mount path must be absolute"},
		{"name:/absolute-path:shared", `invalid volume specification: 'name:/absolute-path:shared': invalid mount config for type "volume": field BindOptions must not be specified`},
		{"name:/absolute-path:rprivate", "field BindOptions must not be specified"},
		// modes
		{"/a:/b:ro,rw", "invalid mode: ro,rw"},
		{"/a:/b:z,Z", "invalid mode: z,Z"},
		{"/a:/b:ro,", "invalid mode: ro,"},
		{"/a:/b:cached,delegated", "invalid mode"},
		{"v1:/b:nocopy,nocopy", "invalid mode: nocopy,nocopy"},
		{"/a:/b:nocopy", `invalid volume specification: '/a:/b:nocopy': invalid mount config for type "bind": field VolumeOptions must not be specified`},
		{"/a:/b:RO", "invalid mode: RO"},
		// targets
		{"/:/", `invalid volume specification: '/:/': invalid mount config for type "bind": invalid specification: destination can't be '/'`},
		{"/a:/..", "destination can't be '/'"},
		{"v1://", "destination can't be '/'"},
		{"/a:/b:ro:x", "invalid volume specification: '/a:/b:ro:x'"},
		// volume names: the local driver's rule
		{"local/name:/tmp:rw", `create local/name: "local/name" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`},
		{"./x:/y", `create ./x: "./x" includes invalid characters`},
		{"x/y:/y", `"x/y" includes invalid characters`},
		{"_v:/y", `"_v" includes invalid characters`},
		{"a:/y", "create a: volume name is too short, names should be at least two alphanumeric characters"},
		{".:/y", "create .: volume name is too short"},
		{"~:/y", "create ~: volume name is too short"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			m, err := ParseVolume(tc.spec)
			if checkErr(t, err, tc.want) {
				t.Errorf("ParseVolume(%q) = %+v, want error", tc.spec, m)
			}
		})
	}
}

func TestParseMount(t *testing.T) {
	bindSrcTgt := Mount{Type: TypeBind, Source: "/source", Target: "/target"}
	tests := []struct {
		value string
		want  Mount
	}{
		// docker/cli's opts/mount_test.go
		{"type=bind,target=/target,source=/source", bindSrcTgt},
		{"type=bind,src=/source,dst=/target", bindSrcTgt},
		{"type=bind,source=/source,dst=/target", bindSrcTgt},
		{"type=bind,src=/source,target=/target", bindSrcTgt},
		{"type=volume,src=foo,destination=/target", Mount{Type: TypeVolume, Source: "foo", Target: "/target"}},
		{"target=/target,source=foo", Mount{Type: TypeVolume, Source: "foo", Target: "/target"}},
		{"type=bind,target=/foo,source=/foo,readonly", Mount{Type: TypeBind, Source: "/foo", Target: "/foo", ReadOnly: true}},
		{"type=bind,target=/foo,source=/foo,ro=1", Mount{Type: TypeBind, Source: "/foo", Target: "/foo", ReadOnly: true}},
		{"type=bind,target=/foo,source=/foo,readonly=true", Mount{Type: TypeBind, Source: "/foo", Target: "/foo", ReadOnly: true}},
		{"type=bind,target=/foo,source=/foo,readonly=0", Mount{Type: TypeBind, Source: "/foo", Target: "/foo"}},
		{"type=volume,target=/foo,volume-nocopy", Mount{Type: TypeVolume, Target: "/foo", VolumeOptions: &VolumeOptions{NoCopy: true}}},
		{"type=volume,target=/foo,source=foo,volume-nocopy=true", Mount{Type: TypeVolume, Source: "foo", Target: "/foo", VolumeOptions: &VolumeOptions{NoCopy: true}}},
		{"type=volume,target=/foo,source=foo,volume-nocopy=false", Mount{Type: TypeVolume, Source: "foo", Target: "/foo", VolumeOptions: &VolumeOptions{}}},
		{"type=tmpfs,target=/target,tmpfs-size=1m,tmpfs-mode=0700", Mount{Type: TypeTmpfs, Target: "/target", TmpfsOptions: &TmpfsOptions{SizeBytes: 1 << 20, Mode: 0o700}}},
		{"type=tmpfs,target=/target,tmpfs-size=1MB,tmpfs-mode=700", Mount{Type: TypeTmpfs, Target: "/target", TmpfsOptions: &TmpfsOptions{SizeBytes: 1 << 20, Mode: 0o700}}},
		{"type=tmpfs,dst=/t,tmpfs-size=64m,readonly", Mount{Type: TypeTmpfs, Target: "/t", ReadOnly: true, TmpfsOptions: &TmpfsOptions{SizeBytes: 64 << 20}}},
		// more
		{"Type=BIND,Src=/a/b/../c/,DST=/x/./y/", Mount{Type: TypeBind, Source: "/a/c", Target: "/x/y"}},
		{"type=bind,src=/a,dst=/b,bind-propagation=RSHARED,bind-nonrecursive", Mount{Type: TypeBind, Source: "/a", Target: "/b", BindOptions: &BindOptions{Propagation: PropagationRShared, NonRecursive: true}}},
		{"type=bind,src=/a,dst=/b,bind-nonrecursive=false,consistency=cached", Mount{Type: TypeBind, Source: "/a", Target: "/b", BindOptions: &BindOptions{}}},
		{
			`type=volume,src=data,dst=/d,volume-driver=local,volume-label=a=1,volume-label=b,volume-label==x,"volume-opt=o=addr=10.0.0.1,rw",volume-opt=type=nfs`,
			Mount{Type: TypeVolume, Source: "data", Target: "/d", VolumeOptions: &VolumeOptions{
				Labels:       map[string]string{"a": "1", "b": ""},
				DriverConfig: &Driver{Name: "local", Options: map[string]string{"o": "addr=10.0.0.1,rw", "type": "nfs"}},
			}},
		},
		{"type=volume,src=data,dst=/d,volume-subpath=sub/dir", Mount{Type: TypeVolume, Source: "data", Target: "/d", VolumeOptions: &VolumeOptions{Subpath: "sub/dir"}}},
		// another driver names its volumes as it likes
		{"type=volume,src=a/b,dst=/d,volume-driver=nfs", Mount{Type: TypeVolume, Source: "a/b", Target: "/d", VolumeOptions: &VolumeOptions{DriverConfig: &Driver{Name: "nfs"}}}},
		{"  type=bind,src=/a,dst=/b  ", Mount{Type: TypeBind, Source: "/a", Target: "/b"}},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			got, err := ParseMount(tc.value)
			checkErr(t, err, "")
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseMount(%q)\n got %+v\nwant %+v", tc.value, got, tc.want)
			}
		})
	}
}

func TestParseMountErrors(t *testing.T) {
	tests := []struct {
		value string
		want  string
	}{
		{"", "value is empty"},
		{"type=volume,source=foo", `invalid mount config for type "volume": field Target must not be empty`},
		{"type=tmpfs", `invalid mount config for type "tmpfs": field Target must not be empty`},
		{"type=volume,bogus=foo", "unexpected key 'bogus' in 'bogus=foo'"},
		{"type=volume,bogus", "invalid field 'bogus' must be a key=value pair"},
		{"type=bind,src=/a,dst=/b,bind-propagation", "invalid field 'bind-propagation' must be a key=value pair"},
		{"type=volume,readonly=no", "invalid value for readonly: no"},
		{"type=volume,readonly=invalid", "invalid value for readonly: invalid"},
		{"type=volume,dst=/a,volume-nocopy=yes", "invalid value for volume-nocopy: yes"},
		{"type=bind,src=/a,dst=/b,bind-nonrecursive=2", "invalid value for bind-nonrecursive: 2"},
		{"type=bind,target=/foo,source=/foo,volume-nocopy=true", `invalid mount config for type "bind": field VolumeOptions must not be specified`},
		{"type=volume,target=/foo,source=foo,bind-propagation=rprivate", `invalid mount config for type "volume": field BindOptions must not be specified`},
		{"type=tmpfs,target=/foo,bind-propagation=rprivate", `invalid mount config for type "tmpfs": field BindOptions must not be specified`},
		{"type=bind,src=/a,target=/foo,tmpfs-size=1m", "field TmpfsOptions must not be specified"},
		{"type=volume,target=/foo,tmpfs-mode=700", "field TmpfsOptions must not be specified"},
		{"type=tmpfs,target=/foo,volume-driver=x", "field VolumeOptions must not be specified"},
		{"type=tmpfs,target=/foo,tmpfs-size=foo", "invalid value for tmpfs-size: foo"},
		{"type=tmpfs,target=/foo,tmpfs-mode=foo", "invalid value for tmpfs-mode: foo"},
		{"type=tmpfs,target=/foo,tmpfs-mode=17777", "invalid value for tmpfs-mode: 17777"},
		{"type=tmpfs,src=x,dst=/t", `invalid mount config for type "tmpfs": field Source must not be specified`},
		{"type=bind,target=/foo", `invalid mount config for type "bind": field Source must not be empty`},
		{"type=bind,src=./rel,dst=/x", `invalid mount config for type "bind": invalid mount path: './rel' mount path must be absolute`},
		{"type=bind,src=/a,dst=/", `invalid mount config for type "bind": invalid specification: destination can't be '/'`},
		{"type=bind,src=/a,dst=rel", "invalid mount path: 'rel' mount path must be absolute"},
		{"type=bind,src=/a,dst=/b,bind-propagation=foo", `invalid mount config for type "bind": invalid propagation mode: foo`},
		{"type=foo,target=/x", `invalid mount config for type "foo": mount type unknown`},
		{"type=npipe,src=/a,target=/x", "mount type unknown"},
		{"type=volume,dst=/x,readonly", `invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes`},
		{"type=volume,dst=/x,volume-subpath=a", "must not set Subpath when using anonymous volumes"},
		{"type=volume,src=v1,dst=/x,volume-subpath=../a", "subpath must be a relative path within the volume"},
		{"type=volume,src=v1,dst=/x,volume-subpath=/a", "subpath must be a relative path within the volume"},
		{"type=volume,src=/source,dst=/target", `create /source: "/source" includes invalid characters for a local volume name`},
		{"type=volume,src=a,dst=/target,volume-driver=local", "create a: volume name is too short"},
		{"type=bind, src=/a,dst=/b", "invalid option 'src' in ' src=/a': option should not have whitespace"},
		{"type=bind,src= /a,dst=/b", "invalid value for 'src' in 'src= /a': value should not have whitespace"},
		{"type=bind,src=,dst=/b", "invalid value for 'src': value is empty"},
		{`type=bind,src="/a,dst=/b`, "invalid mount"},
		{"type=bind,src=/a,dst=/b,bind-create-mountpoint=true", "unexpected key 'bind-create-mountpoint'"},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			m, err := ParseMount(tc.value)
			if checkErr(t, err, tc.want) {
				t.Errorf("ParseMount(%q) = %+v, want error", tc.value, m)
			}
		})
	}
}

func TestParseTmpfs(t *testing.T) {
	tests := []struct {
		spec string
		want Mount
		err  string
	}{
		{spec: "/run", want: Mount{Type: TypeTmpfs, Target: "/run"}},
		{spec: "/run/", want: Mount{Type: TypeTmpfs, Target: "/run"}},
		{spec: "/run:", want: Mount{Type: TypeTmpfs, Target: "/run"}},
		{spec: "/run:rw,noexec,nosuid,size=65536k", want: Mount{Type: TypeTmpfs, Target: "/run", TmpfsOptions: &TmpfsOptions{SizeBytes: 64 << 20, Options: []string{"noexec", "nosuid"}}}},
		{spec: "/tmp:mode=1777,uid=1000,size=50%,defaults", want: Mount{Type: TypeTmpfs, Target: "/tmp", TmpfsOptions: &TmpfsOptions{Mode: 0o1777, Options: []string{"uid=1000", "size=50%"}}}},
		{spec: "/x:size=1.5g,size=2g", want: Mount{Type: TypeTmpfs, Target: "/x", TmpfsOptions: &TmpfsOptions{SizeBytes: 2 << 30}}},
		{spec: "/x:ro", want: Mount{Type: TypeTmpfs, Target: "/x", ReadOnly: true}},
		{spec: "/x:ro,rw", want: Mount{Type: TypeTmpfs, Target: "/x"}},
		{spec: "/x:rw,ro,exec", want: Mount{Type: TypeTmpfs, Target: "/x", ReadOnly: true, TmpfsOptions: &TmpfsOptions{Options: []string{"exec"}}}},
		{spec: "", err: "invalid mount path: '' mount path must be absolute"},
		{spec: "run", err: "invalid mount path: 'run' mount path must be absolute"},
		{spec: "/", err: "invalid specification: destination can't be '/'"},
		{spec: "/x/..:size=1m", err: "destination can't be '/'"},
		{spec: "/x:size=abc", err: `invalid tmpfs option "size=abc": invalid size: 'abc'`},
		{spec: "/x:size=", err: `invalid tmpfs option "size="`},
		{spec: "/x:mode=9", err: `invalid tmpfs option "mode=9"`},
		{spec: "/x:mode=17777", err: `invalid tmpfs option "mode=17777"`},
		{spec: "/x:foo", err: `invalid tmpfs option "foo"`},
		{spec: "/x:noexec,,nosuid", err: `invalid tmpfs option ""`},
		{spec: "/x:uid=", err: `invalid tmpfs option "uid="`},
		{spec: "/x:size=%", err: `invalid tmpfs option "size=%"`},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := ParseTmpfs(tc.spec)
			if !checkErr(t, err, tc.err) {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseTmpfs(%q)\n got %+v\nwant %+v", tc.spec, got, tc.want)
			}
		})
	}
}

func TestParseVolumesFrom(t *testing.T) {
	tests := []struct {
		spec, container, mode, err string
	}{
		{spec: "web", container: "web"},
		{spec: "web:ro", container: "web", mode: "ro"},
		{spec: "web:rw", container: "web", mode: "rw"},
		{spec: "web:", container: "web"},
		{spec: "web:ro,z", container: "web", mode: "ro"},
		{spec: "web:Z", container: "web"},
		{spec: "", err: "volumes-from specification cannot be an empty string"},
		{spec: ":ro", err: "invalid volumes-from specification: ':ro'"},
		{spec: "web:shared", err: "invalid mode: shared"},
		{spec: "web:ro,rslave", err: "invalid mode: ro,rslave"},
		{spec: "web:nocopy", err: "invalid mode: nocopy"},
		{spec: "web:foo", err: "invalid mode: foo"},
		{spec: "web:ro,rw", err: "invalid mode: ro,rw"},
		{spec: "web:ro:x", err: "invalid mode: ro:x"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			c, mode, err := ParseVolumesFrom(tc.spec)
			if !checkErr(t, err, tc.err) {
				return
			}
			if c != tc.container || mode != tc.mode {
				t.Errorf("ParseVolumesFrom(%q) = %q, %q, want %q, %q", tc.spec, c, mode, tc.container, tc.mode)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		m    Mount
		err  string
	}{
		{"bind", Mount{Type: TypeBind, Source: "/a", Target: "/b/"}, ""},
		{"tmpfs options", Mount{Type: TypeTmpfs, Target: "/t", TmpfsOptions: &TmpfsOptions{Mode: 0o1777, Options: []string{"nosuid", "size=10%", "nr_inodes=1k"}}}, ""},
		{"no type", Mount{Target: "/t"}, `invalid mount config for type "": mount type unknown`},
		{"target first", Mount{Type: "foo"}, "field Target must not be empty"},
		{"relative bind source", Mount{Type: TypeBind, Source: "a", Target: "/b"}, "invalid mount path: 'a' mount path must be absolute"},
		{"bad propagation", Mount{Type: TypeBind, Source: "/a", Target: "/b", BindOptions: &BindOptions{Propagation: "Shared"}}, "invalid propagation mode: Shared"},
		{"volume with tmpfs options", Mount{Type: TypeVolume, Target: "/b", TmpfsOptions: &TmpfsOptions{}}, "field TmpfsOptions must not be specified"},
		{"tmpfs negative size", Mount{Type: TypeTmpfs, Target: "/t", TmpfsOptions: &TmpfsOptions{SizeBytes: -1}}, "invalid tmpfs size: -1"},
		{"tmpfs mode type bits", Mount{Type: TypeTmpfs, Target: "/t", TmpfsOptions: &TmpfsOptions{Mode: 1 << 31}}, "invalid tmpfs mode"},
		{"tmpfs ro in options", Mount{Type: TypeTmpfs, Target: "/t", TmpfsOptions: &TmpfsOptions{Options: []string{"ro"}}}, `invalid tmpfs option "ro"`},
		{"tmpfs byte size in options", Mount{Type: TypeTmpfs, Target: "/t", TmpfsOptions: &TmpfsOptions{Options: []string{"size=1m"}}}, `invalid tmpfs option "size=1m"`},
		{"tmpfs mode in options", Mount{Type: TypeTmpfs, Target: "/t", TmpfsOptions: &TmpfsOptions{Options: []string{"mode=700"}}}, `invalid tmpfs option "mode=700"`},
		{"volume name", Mount{Type: TypeVolume, Source: "a b", Target: "/t"}, `create a b: "a b" includes invalid characters`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, tc.m.Validate(), tc.err)
		})
	}
}

// TestRecordRoundTrip checks that a parsed mount survives its JSON record,
// with Docker's field names.
func TestRecordRoundTrip(t *testing.T) {
	m, err := ParseMount(`type=volume,src=data,dst=/d,volume-label=a=1,"volume-opt=o=x,y",volume-nocopy`)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"Type":"volume","Source":"data","Target":"/d","VolumeOptions":{"NoCopy":true,"Labels":{"a":"1"},"DriverConfig":{"Options":{"o":"x,y"}}}}`
	if string(b) != want {
		t.Errorf("record\n got %s\nwant %s", b, want)
	}
	var back Mount
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Errorf("round trip: got %+v, want %+v", back, m)
	}
	if err := back.Validate(); err != nil {
		t.Error(err)
	}
}

func TestCheckDuplicates(t *testing.T) {
	a, _ := ParseVolume("/a:/data")
	b, _ := ParseMount("type=volume,src=v1,dst=/data/")
	c, _ := ParseTmpfs("/tmp")
	checkErr(t, CheckDuplicates([]Mount{a, c}), "")
	checkErr(t, CheckDuplicates(nil), "")
	checkErr(t, CheckDuplicates([]Mount{a, c, b}), "Duplicate mount point: /data")
	checkErr(t, CheckDuplicates([]Mount{{Target: "/x/"}, {Target: "/x"}}), "Duplicate mount point: /x")
}

func TestPropagationOCIOption(t *testing.T) {
	for p, want := range map[Propagation]string{
		"":                 "rprivate",
		PropagationRShared: "rshared",
		PropagationSlave:   "slave",
		PropagationPrivate: "private",
	} {
		if got := p.OCIOption(); got != want {
			t.Errorf("Propagation(%q).OCIOption() = %q, want %q", p, got, want)
		}
	}
}

// mib is n MiB truncated to bytes, computed at run time like go-units does.
func mib(n float64) int64 { return int64(n * (1 << 20)) }

func TestRAMInBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string
	}{
		// docker/go-units size_test.go
		{in: "32", want: 32},
		{in: "32b", want: 32},
		{in: "32B", want: 32},
		{in: "32k", want: 32 << 10},
		{in: "32K", want: 32 << 10},
		{in: "32kb", want: 32 << 10},
		{in: "32Kb", want: 32 << 10},
		{in: "32Kib", want: 32 << 10},
		{in: "32KIB", want: 32 << 10},
		{in: "32Mb", want: 32 << 20},
		{in: "32Gb", want: 32 << 30},
		{in: "32Tb", want: 32 << 40},
		{in: "32Pb", want: 32 << 50},
		{in: "32PB", want: 32 << 50},
		{in: "32P", want: 32 << 50},
		{in: "32.3", want: 32},
		{in: "32.3 mb", want: mib(32.3)},
		{in: "0.3MB", want: mib(0.3)},
		{in: "1.5g", want: 3 << 29},
		{in: "64m", want: 64 << 20},
		{in: "0", want: 0},
		{in: "", err: "invalid size: ''"},
		{in: "hello", err: "invalid size: 'hello'"},
		{in: "-32", err: "invalid size"},
		{in: " 32 ", err: "invalid size"},
		{in: "32m b", err: "invalid suffix: 'm b'"},
		{in: "32bm", err: "invalid suffix: 'bm'"},
		{in: ".3k", err: "invalid size"},
		{in: "3.k", err: "invalid size"},
		{in: "1.2.3", err: "invalid suffix"},
		{in: "32x", err: "invalid suffix: 'x'"},
		{in: "32kbb", err: "invalid suffix"},
		{in: "32ib", err: "invalid suffix"},
		{in: "8192p", err: "invalid size: '8192p'"},
		{in: "99999999999999999999", err: "invalid size"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := RAMInBytes(tc.in)
			if checkErr(t, err, tc.err) && got != tc.want {
				t.Errorf("RAMInBytes(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

// checkParsed is the invariant of every successful parse.
func checkParsed(t *testing.T, in string, m Mount) {
	t.Helper()
	if err := m.Validate(); err != nil {
		t.Fatalf("%q parsed to %+v, which does not validate: %v", in, m, err)
	}
	if !path.IsAbs(m.Target) || path.Clean(m.Target) != m.Target || m.Target == "/" {
		t.Fatalf("%q parsed to target %q, not absolute and clean", in, m.Target)
	}
	if m.Type == TypeBind && path.Clean(m.Source) != m.Source {
		t.Fatalf("%q parsed to bind source %q, not clean", in, m.Source)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Mount
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Fatalf("%q: record %s does not validate: %v", in, b, err)
	}
}

func FuzzParseVolume(f *testing.F) {
	for _, s := range []string{
		"/home", "/a:/b", "/a:/b:ro,Z,rshared", "v1:/data:nocopy", "x/y:/z", "/:/", "a:b:c:d",
		"/tmp:", "/a:/b:", "name:/p:rprivate", "/a/../b:/c/./d/:rw", ":/x", "/a:/..",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		m, err := ParseVolume(spec)
		if err != nil {
			if !errdefs.IsInvalidArgument(err) {
				t.Fatalf("ParseVolume(%q): error %v is not invalid argument", spec, err)
			}
			return
		}
		checkParsed(t, spec, m)
	})
}

func FuzzParseMount(f *testing.F) {
	for _, s := range []string{
		"type=bind,src=/a,dst=/b", "type=volume,src=v1,dst=/d,volume-nocopy,volume-label=a=b",
		`type=volume,src=v1,dst=/d,"volume-opt=o=a,b"`, "type=tmpfs,dst=/t,tmpfs-size=1.5g,tmpfs-mode=1777",
		"dst=/x,readonly", "type=bind,src=/a,dst=/b,bind-propagation=rslave,bind-nonrecursive=1",
		"type=volume,src=v1,dst=/x,volume-subpath=a/b", `"type=bind",src=/a,"dst=/b"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		m, err := ParseMount(value)
		if err != nil {
			if !errdefs.IsInvalidArgument(err) {
				t.Fatalf("ParseMount(%q): error %v is not invalid argument", value, err)
			}
			return
		}
		checkParsed(t, value, m)
	})
}

func FuzzParseTmpfs(f *testing.F) {
	for _, s := range []string{"/run", "/run:rw,noexec,size=64m", "/tmp:mode=1777,size=50%", "/x:ro,uid=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		m, err := ParseTmpfs(spec)
		if err != nil {
			return
		}
		checkParsed(t, spec, m)
	})
}
