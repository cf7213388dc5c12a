package langid

import (
	"bytes"
	"testing"
)

func TestDetect(t *testing.T) {
	d := Default()
	german := []string{"Nein.", "Danke!", "Ja", "Hallo", "Tschüss!", "Guten Morgen.", "Der Hund spielt im Garten.",
		"Ich habe heute keine Zeit.", "Wo ist der Bahnhof?", "Die Miete beträgt 1.150,00 Euro im Monat.",
		"Mehr dazu auf https://www.example.com/hilfe?id=42.", "Schön 😀", "Ich liebe dich ❤️", "Straße", "Entschuldigung",
		"Unser Kundenkonto heißt @baeckerei_mueller.", "Tippe `npm install` in das Terminal.", "Hallo {name}, dein Paket ist unterwegs."}
	other := []string{"", "ok", "Hello", "😀😀", "👍", "12:30", "1.234,56 €", "https://example.com", "info@example.com", "#hashtag @user", "--- *** ---",
		"你好，世界。", "Привет, как дела?", "こんにちは", "مرحبا", "Γειά σου κόσμε",
		"The dog is playing in the garden.", "I don't have time today.", "Where is the train station?", "Thank you very much!",
		"Please send me the invoice by Friday."}
	for _, s := range german {
		if r := d.Detect(s); !r.German {
			t.Errorf("Detect(%q) = %+v, want German", s, r)
		}
	}
	for _, s := range other {
		if r := d.Detect(s); r.German {
			t.Errorf("Detect(%q) = %+v, want not German", s, r)
		}
	}
}

// Held-out sentences written for this test (not corpus text): at most one
// error in each language.
func TestHeldOutAccuracy(t *testing.T) {
	d := Default()
	de := []string{"Morgen fahren wir mit dem Zug nach Hamburg.", "Kannst du mir bitte helfen?", "Das Wetter ist heute schlecht.",
		"Wir haben das Problem gestern gelöst.", "Meine Schwester arbeitet in einem Krankenhaus.", "Warum hast du nicht angerufen?",
		"Die Kinder spielen draußen im Schnee.", "Ich würde gern ein Zimmer reservieren.", "Bitte schließen Sie die Tür.",
		"Er liest jeden Abend ein Buch.", "Das Konzert beginnt um acht.", "Sie hat ihren Schlüssel verloren."}
	en := []string{"Tomorrow we are taking the train to Hamburg.", "Can you help me, please?", "The weather is bad today.",
		"We solved the problem yesterday.", "My sister works in a hospital.", "Why didn't you call?",
		"The children are playing outside in the snow.", "I would like to book a room.", "Please close the door.",
		"He reads a book every evening.", "The concert starts at eight.", "She lost her key."}
	errDe, errEn := 0, 0
	for _, s := range de {
		if !d.IsGerman(s) {
			errDe++
		}
	}
	for _, s := range en {
		if d.IsGerman(s) {
			errEn++
		}
	}
	if errDe > 1 || errEn > 1 {
		t.Errorf("held-out errors: %d of %d German, %d of %d English", errDe, len(de), errEn, len(en))
	}
}

func TestLoadEncode(t *testing.T) {
	if _, err := Load([]byte("LID1")); err == nil {
		t.Error("Load of a short table: no error")
	}
	if _, err := Load(bytes.Repeat([]byte{0}, len(modelBin))); err == nil {
		t.Error("Load without magic: no error")
	}
	d := Default()
	b, err := Encode(d.logp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, modelBin) {
		t.Error("Encode(Load(model.bin)) differs from model.bin")
	}
	if _, err := Encode([2][]float32{{1}, {2}}); err == nil {
		t.Error("Encode of short tables: no error")
	}
}

func FuzzDetect(f *testing.F) {
	f.Add("Nein.")
	f.Add("\xff你好 ok")
	f.Fuzz(func(t *testing.T, s string) {
		r := Default().Detect(s)
		if r.Reason == "" {
			t.Fatalf("Detect(%q): no reason", s)
		}
	})
}
