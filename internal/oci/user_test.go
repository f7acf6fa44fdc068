package oci

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"berth.dev/berth/internal/errdefs"
)

const testPasswd = `root:x:0:0:root:/root:/bin/sh
# a comment
daemon:x:1:1:daemon:/usr/sbin:/bin/false

nobody:x:65534:65534:nobody:/nonexistent:/bin/false
  app:x:1000:1000::/home/app:/bin/sh  
nohome:x:1001:1001
bad-uid:x:abc:1:::
bad-gid:x:5:-1:::
too-big:x:2147483648:0:::
:x:7:7:::
short:x:8
+::::::
`

const testGroup = `root:x:0:root
wheel:x:10:root,app
staff:x:50: app , daemon
users:x:100:
nogroup:x:65534:
bad:x:zz:app
broken
`

func testUsers(t *testing.T) Users {
	t.Helper()
	p, err := ParsePasswd(strings.NewReader(testPasswd))
	if err != nil {
		t.Fatal(err)
	}
	g, err := ParseGroup(strings.NewReader(testGroup))
	if err != nil {
		t.Fatal(err)
	}
	return Users{Passwd: p, Groups: g}
}

func TestParsePasswd(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []PasswdEntry
	}{
		{
			name:  "fixture",
			input: testPasswd,
			want: []PasswdEntry{
				{Name: "root", UID: 0, GID: 0, Home: "/root", Shell: "/bin/sh"},
				{Name: "daemon", UID: 1, GID: 1, Home: "/usr/sbin", Shell: "/bin/false"},
				{Name: "nobody", UID: 65534, GID: 65534, Home: "/nonexistent", Shell: "/bin/false"},
				{Name: "app", UID: 1000, GID: 1000, Home: "/home/app", Shell: "/bin/sh"},
				{Name: "nohome", UID: 1001, GID: 1001},
			},
		},
		{name: "empty", input: "", want: nil},
		{name: "only comments and blanks", input: "#x\n\n   \n# y", want: nil},
		{name: "no trailing newline", input: "a:x:1:2:g:/h:/s", want: []PasswdEntry{{Name: "a", UID: 1, GID: 2, Home: "/h", Shell: "/s"}}},
		{name: "crlf", input: "a:x:1:2:g:/h:/s\r\n", want: []PasswdEntry{{Name: "a", UID: 1, GID: 2, Home: "/h", Shell: "/s"}}},
		{name: "overlong line skipped", input: "a:x:1:2:" + strings.Repeat("g", 2*maxLine) + ":/h:/s\nb:x:3:4:::\n", want: []PasswdEntry{{Name: "b", UID: 3, GID: 4}}},
		{name: "signed ids skipped", input: "a:x:+1:2:::\nb:x:1:-2:::\n", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePasswd(strings.NewReader(tc.input))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseReadError(t *testing.T) {
	boom := errors.New("boom")
	if _, err := ParsePasswd(iotest.ErrReader(boom)); !errors.Is(err, boom) || err.Error() != "read passwd: boom" {
		t.Errorf("ParsePasswd: got %v", err)
	}
	if _, err := ParseGroup(iotest.ErrReader(boom)); !errors.Is(err, boom) || err.Error() != "read group: boom" {
		t.Errorf("ParseGroup: got %v", err)
	}
}

func TestParseGroup(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []GroupEntry
	}{
		{
			name:  "fixture",
			input: testGroup,
			want: []GroupEntry{
				{Name: "root", GID: 0, Members: []string{"root"}},
				{Name: "wheel", GID: 10, Members: []string{"root", "app"}},
				{Name: "staff", GID: 50, Members: []string{"app", "daemon"}},
				{Name: "users", GID: 100},
				{Name: "nogroup", GID: 65534},
			},
		},
		{name: "no members field", input: "g:x:5", want: []GroupEntry{{Name: "g", GID: 5}}},
		{name: "empty members in list", input: "g:x:5:,a,,b,", want: []GroupEntry{{Name: "g", GID: 5, Members: []string{"a", "b"}}}},
		{name: "empty", input: "", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseGroup(strings.NewReader(tc.input))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestResolveUser(t *testing.T) {
	users := testUsers(t)
	tests := []struct {
		name    string
		user    string
		users   Users
		want    Identity
		wantErr string
	}{
		{name: "root by default", user: "", users: users,
			want: Identity{UID: 0, GID: 0, Home: "/root", AdditionalGids: []uint32{0, 10}}},
		{name: "root by default without passwd", user: "", users: Users{},
			want: Identity{Home: "/root"}},
		{name: "name", user: "app", users: users,
			want: Identity{UID: 1000, GID: 1000, Home: "/home/app", AdditionalGids: []uint32{10, 50}}},
		{name: "name without groups", user: "nobody", users: users,
			want: Identity{UID: 65534, GID: 65534, Home: "/nonexistent"}},
		{name: "entry without home", user: "nohome", users: users,
			want: Identity{UID: 1001, GID: 1001, Home: "/"}},
		{name: "uid in passwd", user: "1000", users: users,
			want: Identity{UID: 1000, GID: 1000, Home: "/home/app", AdditionalGids: []uint32{10, 50}}},
		{name: "uid not in passwd", user: "4242", users: users,
			want: Identity{UID: 4242, GID: 0, Home: "/"}},
		{name: "name:group", user: "app:users", users: users,
			want: Identity{UID: 1000, GID: 100, Home: "/home/app"}},
		{name: "name:gid", user: "app:4000", users: users,
			want: Identity{UID: 1000, GID: 4000, Home: "/home/app"}},
		{name: "uid:gid without entries", user: "4242:4343", users: Users{},
			want: Identity{UID: 4242, GID: 4343, Home: "/"}},
		{name: "uid:group", user: "4242:staff", users: users,
			want: Identity{UID: 4242, GID: 50, Home: "/"}},
		{name: "gid found by number", user: "app:10", users: users,
			want: Identity{UID: 1000, GID: 10, Home: "/home/app"}},
		{name: "root with group", user: ":wheel", users: users,
			want: Identity{UID: 0, GID: 10, Home: "/root"}},
		{name: "unknown name", user: "ghost", users: users,
			wantErr: "unable to find user ghost: no matching entries in passwd file"},
		{name: "unknown name without passwd", user: "app", users: Users{},
			wantErr: "unable to find user app: no matching entries in passwd file"},
		{name: "unknown group", user: "app:ghosts", users: users,
			wantErr: "unable to find group ghosts: no matching entries in group file"},
		{name: "uid out of range", user: "2147483648", users: users,
			wantErr: "uids and gids must be in range 0-2147483647"},
		{name: "negative gid", user: "app:-1", users: users,
			wantErr: "uids and gids must be in range 0-2147483647"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveUser(tc.user, tc.users)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("got error %v, want %q", err, tc.wantErr)
				}
				if !errdefs.IsInvalidArgument(err) {
					t.Errorf("error %v is not invalid argument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzParsePasswd(f *testing.F) {
	f.Add(testPasswd, "app")
	f.Add(testGroup, "1000:wheel")
	f.Add("a:b:c:d:e:f:g:h\n::::\n:\n\x00:x:0:0", "")
	f.Add("x:x:00000000000000000000000000001:1", "x:x")
	f.Fuzz(func(t *testing.T, data, user string) {
		p, err := ParsePasswd(strings.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p {
			if e.Name == "" || e.UID < 0 || e.UID > maxID || e.GID < 0 || e.GID > maxID {
				t.Fatalf("bad entry %+v", e)
			}
		}
		g, err := ParseGroup(strings.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = ResolveUser(user, Users{Passwd: p, Groups: g})
	})
}
