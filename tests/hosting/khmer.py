"""Real Khmer strings for the tests, with the characters that used to be stripped: ZERO
WIDTH SPACE (U+200B, the word break Khmer writes instead of a space), ZWNJ and ZWJ."""

ZWSP, ZWNJ, ZWJ = "\u200b", "\u200c", "\u200d"
MOH = f"ក្រសួង{ZWSP}សុខាភិបាល"  # Ministry of Health, with its word break
CONTACT = f"លោក{ZWSP}ដារ៉ា ចាន់, {MOH}, ០១២ ៣៤៥ ៦៧៨"  # Mr Dara Chan, Khmer digits
JUSTIFICATION = (
    f"ម៉ាស៊ីន{ZWSP}មេ{ZWSP}សម្រាប់{ZWSP}ប្រព័ន្ធ HMIS របស់{ZWSP}{MOH}។\n"  # servers for HMIS
    f"មន្ទីរ{ZWSP}សុខាភិបាល{ZWSP}ខេត្ត ២៥ ។\n"  # 25 provincial health departments
    f"ZWNJ{ZWNJ}and ZWJ{ZWJ}stay: ស្រ{ZWJ}ី ក{ZWNJ}ា"
)
REJECTED = f"សូម{ZWSP}បំបែក{ZWSP}ជា{ZWSP}ពីរ{ZWSP}ធ្នើរ"  # please split it over two racks
APPROVED = f"អនុម័ត{ZWSP}ដោយ{ZWSP}វិស្វករ"  # approved by the engineer
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
