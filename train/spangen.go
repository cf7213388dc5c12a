package train

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// The generators below make the synthetic strings that Augment teaches
// the model to copy. They are drawn from small hand-written syllable and
// name lists (written for this project), never from corpus text.

var (
	firstNames = []string{"Thomas", "Anna", "Lukas", "Sophie", "Jonas", "Lea", "Felix", "Marie", "Paul", "Hannah",
		"Elias", "Emma", "Finn", "Mia", "Leon", "Clara", "Noah", "Lina", "Ben", "Greta", "Jan", "Frieda",
		"Moritz", "Ida", "Karl", "Ursula", "Jürgen", "Birgit", "Sven", "Özlem", "Mehmet", "Aylin", "Katarzyna",
		"Piotr", "Giulia", "Marco", "Ingrid", "Björn", "Fatima", "Yusuf", "Dmitri", "Olga", "Chen", "Aiko",
		"Kwame", "Amara", "Ravi", "Priya", "Tobias", "Johanna", "Heinrich", "Wiebke", "Malte", "Svenja"}
	lastNames = []string{"Becker", "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner",
		"Hoffmann", "Schulz", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Braun",
		"Zimmermann", "Krüger", "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Köhler", "Yılmaz",
		"Kowalski", "Rossi", "Nguyen", "Petrov", "Andersson", "Okafor", "Haas", "Vogel", "Jäger", "Brandt",
		"Friedrich", "Sommer", "Winkler", "Lorenz", "Kaiser", "Albrecht", "Seidel", "Engel", "Dietrich"}
	syllables = []string{"ka", "ro", "mi", "ten", "lo", "sa", "ber", "gen", "da", "vi", "nor", "tek", "wal",
		"fi", "lux", "mar", "ha", "ko", "net", "sun", "bau", "werk", "stadt", "post", "info", "shop", "cloud",
		"data", "hilfe", "kunde", "plan", "zeit", "team", "app", "dev", "blog"}
	tlds      = []string{"de", "com", "org", "net", "eu", "at", "ch", "io", "example"}
	codeWords = []string{"git status", "npm install", "make test", "ls -la", "go build ./...", "docker ps",
		"pip install -r requirements.txt", "cd ~/projekte", "sudo apt update", "python3 main.py",
		"grep -r TODO .", "cargo run --release", "kubectl get pods", "rm -rf build/", "chmod +x run.sh"}
	placeholders = []string{"%s", "%d", "%1$s", "%2$s", "%.2f", "{name}", "{count}", "{0}", "{1}", "{{user}}",
		"{{ datum }}", "$HOME", "$USER", "${version}", "${PATH}", "%(name)s", ":name", "{{.Title}}"}
)

func oneOf(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }

// randomName is a first name, sometimes with a last name.
func randomName(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return oneOf(r, firstNames)
	}
	if r.IntN(4) == 0 {
		return oneOf(r, lastNames)
	}
	return oneOf(r, firstNames) + " " + oneOf(r, lastNames)
}

// word is 1–3 random syllables.
func word(r *rand.Rand) string {
	var b strings.Builder
	for range 1 + r.IntN(3) {
		b.WriteString(oneOf(r, syllables))
	}
	return b.String()
}

func digits(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	return b.String()
}

// groupThousands writes the digits of n in groups of three separated by sep.
func groupThousands(n int, sep string) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// randomSpan returns a protected span as written in German and as it
// appears in the English translation: the same string, except that
// numbers with German separators get English ones.
func randomSpan(r *rand.Rand) (de, en string) {
	switch r.IntN(18) {
	case 0: // integer
		s := fmt.Sprint(r.IntN([]int{10, 100, 1000, 100000}[r.IntN(4)]))
		return s, s
	case 1: // thousands: 1.250 → 1,250
		n := 1000 + r.IntN(999000)
		return groupThousands(n, "."), groupThousands(n, ",")
	case 2: // decimal: 318,40 → 318.40, 1.150,00 → 1,150.00
		n, c := r.IntN(20000), digits(r, 2)
		return groupThousands(n, ".") + "," + c, groupThousands(n, ",") + "." + c
	case 3: // time
		t := fmt.Sprintf("%d:%02d", r.IntN(24), r.IntN(60))
		return t, t
	case 4: // date
		d := fmt.Sprintf("%02d.%02d.%d", 1+r.IntN(28), 1+r.IntN(12), 1950+r.IntN(90))
		return d, d
	case 5: // URL
		u := "www." + word(r) + "." + oneOf(r, tlds)
		if r.IntN(2) == 0 {
			u = oneOf(r, []string{"https://", "http://"}) + u + "/" + word(r)
			if r.IntN(2) == 0 {
				u += "?id=" + digits(r, 1+r.IntN(4)) + "&lang=de"
			}
		}
		return u, u
	case 6: // e-mail
		e := word(r) + oneOf(r, []string{".", "_", "-", ""}) + word(r) + "@" + word(r) + "." + oneOf(r, tlds)
		return e, e
	case 7: // handle or hashtag
		h := oneOf(r, []string{"@", "#"}) + word(r) + oneOf(r, []string{"_", "", ""}) + word(r)
		return h, h
	case 8: // Unix path
		p := oneOf(r, []string{"/etc/", "/home/", "~/", "./", "/var/log/", "/usr/local/"}) + word(r) + "/" + word(r) + oneOf(r, []string{".txt", ".conf", ".log", ".sh", ""})
		return p, p
	case 9: // Windows path
		p := oneOf(r, []string{"C:", "D:"}) + `\` + word(r) + `\` + word(r) + oneOf(r, []string{".ini", ".exe", ".docx", ".txt"})
		return p, p
	case 10: // inline code
		c := "`" + oneOf(r, codeWords) + "`"
		return c, c
	case 11: // placeholder
		p := oneOf(r, placeholders)
		return p, p
	case 12: // product or order code: DE-2024-00817, 4471-XK-93, ABC-7781-Z
		c := strings.ToUpper(oneOf(r, syllables)) + "-" + digits(r, 4) + "-" + digits(r, 3+r.IntN(3))
		if r.IntN(2) == 0 {
			c = digits(r, 4) + "-" + strings.ToUpper(oneOf(r, syllables)[:2]) + "-" + digits(r, 2)
		}
		return c, c
	case 13: // flight or train number: LH 2031, ICE 578
		c := oneOf(r, []string{"LH", "ICE", "IC", "RE", "EW", "OS"}) + " " + digits(r, 2+r.IntN(3))
		return c, c
	case 14: // phone number
		p := oneOf(r, []string{"+49 30 ", "0800 ", "089 ", "+43 1 ", "0171 "}) + digits(r, 3) + " " + digits(r, 3+r.IntN(2))
		return p, p
	case 15: // version number
		v := fmt.Sprintf("%d.%d.%d", r.IntN(10), r.IntN(30), r.IntN(20))
		return v, v
	case 16: // ISBN
		i := "978-3-" + digits(r, 3) + "-" + digits(r, 5) + "-" + digits(r, 1)
		return i, i
	default: // score or ratio
		s := fmt.Sprintf("%d:%d", r.IntN(6), r.IntN(6))
		return s, s
	}
}
