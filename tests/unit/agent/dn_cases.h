/*
 * dn_cases.h: DN texts against certificate DNs, with the verdicts of the
 * text matcher that cert.c had before DN rules were compiled at load time
 * (cert_dn_match() of commit 6e38795, run over these tables).  test_cert.c
 * holds cert_dn_compile() + cert_dn_rule_match() to them: a text the old
 * parser refused (NULL below) must not compile, any other must compile
 * and match exactly the DNs it matched.
 *
 * Include after defining struct dn_ent { type, mbtype, val, len, set }
 * (set 0: a new RDN, -1: the same RDN as the previous attribute), with
 * the OpenSSL headers.
 */
#ifndef SPOA_TEST_DN_CASES_H
#define SPOA_TEST_DN_CASES_H

/* Certificate DNs, DER order (least specific first). */
static const struct dn_ent dncase_intl[] = {
	{ "C", MBSTRING_ASC, "DE", -1, 0 },
	{ "O", V_ASN1_BMPSTRING, "\0Z\0o\0\xeb", 6, 0 },
	{ "CN", MBSTRING_UTF8, "Jos\xc3\xa9 #1 <x>", -1, 0 },
	{ "1.2.3.4.5", MBSTRING_UTF8, "odd", -1, 0 },
	{ NULL, 0, NULL, 0, 0 }
};
static const struct dn_ent dncase_multi[] = {
	{ "O", MBSTRING_UTF8, "Contoso, Inc.", -1, 0 },
	{ "CN", MBSTRING_UTF8, "a", -1, 0 },
	{ "OU", MBSTRING_UTF8, "b", -1, -1 },
	{ NULL, 0, NULL, 0, 0 }
};
static const struct dn_ent dncase_ldap[] = {
	{ "DC", MBSTRING_ASC, "com", -1, 0 },
	{ "DC", MBSTRING_ASC, "example", -1, 0 },
	{ "UID", MBSTRING_UTF8, "jdoe", -1, 0 },
	{ NULL, 0, NULL, 0, 0 }
};
static const struct dn_ent dncase_space[] = {
	{ "O", MBSTRING_UTF8, "  Spaced   Org ", -1, 0 },
	{ "OU", MBSTRING_UTF8, "A\tB\n C", -1, 0 },
	{ "emailAddress", MBSTRING_ASC, "x@Y.org", -1, 0 },
	{ NULL, 0, NULL, 0, 0 }
};
static const struct dn_ent dncase_dup[] = {
	{ "O", MBSTRING_UTF8, "o", -1, 0 },
	{ "OU", MBSTRING_UTF8, "x", -1, 0 },
	{ "OU", MBSTRING_UTF8, "X", -1, -1 },
	{ "CN", MBSTRING_UTF8, "dup", -1, 0 },
	{ NULL, 0, NULL, 0, 0 }
};
static const struct dn_ent dncase_misc[] = {
	{ "serialNumber", MBSTRING_ASC, "123", -1, 0 },
	{ "title", MBSTRING_UTF8, "Dr", -1, 0 },
	{ "GN", MBSTRING_UTF8, "Ann", -1, 0 },
	{ "SN", MBSTRING_UTF8, "Lee", -1, 0 },
	{ "ST", MBSTRING_UTF8, "Bavaria", -1, 0 },
	{ "L", MBSTRING_UTF8, "Munich", -1, 0 },
	{ "street", MBSTRING_UTF8, "1 Main St", -1, 0 },
	{ NULL, 0, NULL, 0, 0 }
};
static const struct dn_ent dncase_special[] = {
	{ "CN", MBSTRING_UTF8, "a\"b\\c,d+e;f=g<h>#i", -1, 0 },
	{ NULL, 0, NULL, 0, 0 }
};
static const struct dn_ent dncase_oid[] = {
	{ "1.3.6.1.4.1.99999.1", MBSTRING_UTF8, "Val", -1, 0 },
	{ "2.5.4.97", MBSTRING_UTF8, "VATDE-1", -1, 0 },
	{ "description", MBSTRING_UTF8, "hello", -1, 0 },
	{ NULL, 0, NULL, 0, 0 }
};
static const struct dn_ent dncase_blank[] = {
	{ "DC", MBSTRING_ASC, "com", -1, 0 },
	{ "CN", MBSTRING_UTF8, " ", -1, 0 },
	{ NULL, 0, NULL, 0, 0 }
};

static const struct dn_ent *const dncase_dns[] = {
	dncase_intl, dncase_multi, dncase_ldap, dncase_space, dncase_dup,
	dncase_misc, dncase_special, dncase_oid, dncase_blank,
};
#define DNCASE_NDN (sizeof(dncase_dns) / sizeof(dncase_dns[0]))

/* DN texts as users write them */
static const char *const dncase_texts[] = {
	/* intl */
	"1.2.3.4.5=odd,CN=Jos\xc3\xa9 #1 <x>,O=Zo\xc3\xab,C=DE",
	"1.2.3.4.5=odd,CN=Jos\xc3\xa9 #1 \\<x\\>,O=Zo\xc3\xab,C=DE",
	"OID.1.2.3.4.5=ODD , cn=jos\\C3\\A9  #1 <X> ; o=ZO\xc3\xab;c=de",
	"oid.1.2.3.4.5=odd,CN=Jos\xc3\xa9 #1 <x>,O=Zo\xc3\xab,C=DE",
	"1.2.3.4.5=#0C036F6464,CN=Jos\xc3\xa9 #1 \\<x\\>,O=Zo\xc3\xab,C=DE",
	"1.2.3.4.5=odd,CN=JOS\xc3\x89 #1 <x>,O=Zo\xc3\xab,C=DE",
	"1.2.3.4.05=odd,CN=Jos\xc3\xa9 #1 <x>,O=Zo\xc3\xab,C=DE",
	"1.2.3.4.5=odd,2.5.4.3=Jos\xc3\xa9 #1 <x>,2.5.4.10=Zo\xc3\xab,2.5.4.6=DE",
	"1.2.3.4.5=odd,commonName=Jos\xc3\xa9 #1 <x>,organizationName=Zo\xc3\xab,countryName=DE",
	"1.2.3.4.5=odd,CN=Jos\xc3\xa9 #1 <x>,O=Zo\xc3\xab",
	"1.2.3.4.6=odd,CN=Jos\xc3\xa9 #1 <x>,O=Zo\xc3\xab,C=DE",
	"1.2.3.4.5=odd,CN=Jos\xc3\xa9 #1 <x>,O=Zoe,C=DE",
	"1.2.3.4.5=odd,CN=Jos\xc3\xa9 #1 <x>,O=\"Zo\xc3\xab\",C=\"DE\"",
	/* multi-valued RDN */
	"CN=a+OU=b,O=Contoso\\, Inc.",
	"OU=b+CN=a,O=\"Contoso, Inc.\"",
	"OU = b + CN = a , O = Contoso\\2C Inc.",
	"CN=A+OU=B,O=contoso\\2c INC.",
	"CN=a+OU=b,O=\"Contoso, Inc.\"  ",
	"CN=a+OU=b,O=\"Contoso, Inc.\"x",
	"CN=a+OU=b,O=\"Contoso\\\", Inc.\"",
	"CN=a,OU=b,O=Contoso\\, Inc.",
	"CN=a+OU=b+OU=b,O=Contoso\\, Inc.",
	"CN=a+CN=a,O=Contoso\\, Inc.",
	"CN=a+OU=b,O=Contoso, Inc.",
	"CN=a+OU=b,O=Contoso\\, Inc.\\",
	"CN=a+OU=b,O=Con\"toso",
	"CN=a+OU=b;O=Contoso\\, Inc.",
	"CN=a+OU=b,O=Contoso\\, Inc.,",
	"+CN=a",
	"CN=a+",
	/* LDAP */
	"uid=jdoe,dc=example,dc=com",
	"UID=jdoe,DC=Example,DC=COM",
	"USERID=jdoe,domainComponent=example,DC=com",
	"0.9.2342.19200300.100.1.1=jdoe,0.9.2342.19200300.100.1.25=example,DC=com",
	"uid=jdoe,dc=com,dc=example",
	"CN=jdoe,dc=example,dc=com",
	"x500UniqueIdentifier=jdoe,dc=example,dc=com",
	/* whitespace */
	"emailAddress=x@y.org,OU=a b c,O=spaced org",
	"E=X@Y.ORG,OU=A\\09B C,O=Spaced Org",
	"EMAIL=x@Y.org , OU = \"A B C\" , O = \"  spaced org  \"",
	"E=x@Y.org,OU=AB C,O=Spaced Org",
	"E=x@Y.org,OU=a\\20\\20b c,O=Spaced Org",
	"E=x@Y.org,OU=a b c,O=Spaced\\ Org\\ ",
	"E=x@Y.org,OU=a b c,O=Spaced\\0aOrg",
	"\tE=x@Y.org,\nOU=a b c,O=Spaced Org\r",
	/* duplicates inside one RDN */
	"CN=dup,OU=x+OU=x,O=o",
	"CN=dup,OU=X+OU=x,O=o",
	"CN=dup,OU=x,O=o",
	"CN=dup,OU=x+OU=y,O=o",
	"CN=dup,OU=x+OU=x+OU=x,O=o",
	/* other attribute names */
	"STREET=1 Main St,L=Munich,ST=Bavaria,SN=Lee,GN=Ann,T=Dr,serialNumber=123",
	"street=1 main st,l=munich,S=bavaria,surname=lee,G=ann,title=dr,SERIALNUMBER=123",
	"streetAddress=1 Main St,localityName=Munich,stateOrProvinceName=Bavaria,surname=Lee,givenName=Ann,title=Dr,serialNumber=123",
	"STREET=1 Main St,L=Munich,ST=Bavaria,SN=Lee,GN=Ann,T=Dr,SN=123",
	"STREET=1 Main St,L=Munich,ST=Bavaria,SN=Lee,GN=Ann,T=Dr",
	/* specials */
	"CN=a\\\"b\\\\c\\,d\\+e\\;f\\=g\\<h\\>\\#i",
	"CN=\"a\\\"b\\\\c,d+e;f=g<h>#i\"",
	"CN=a\\22b\\5cc\\2cd\\2be\\3bf=g<h>#i",
	"CN=a\\\"b\\\\c\\,d\\+e\\;f=g\\<h\\>#i",
	"CN=#i",
	"CN=\\#i",
	"CN=a\\\"b\\\\c\\,d\\+e\\;f\\=g\\<h\\>\\#I",
	"CN=a\\\"b\\\\c\\,d\\+e\\;f\\=g\\<h\\>\\#i\\zz",
	"CN=a\\\"b\\\\c\\,d\\+e\\;f\\=g\\<h\\>\\#i\\2",
	/* OIDs */
	"description=hello,organizationIdentifier=vatde-1,1.3.6.1.4.1.99999.1=val",
	"2.5.4.13=HELLO,2.5.4.97=VATDE-1,OID.1.3.6.1.4.1.99999.1=Val",
	"DESCRIPTION=hello,organizationIdentifier=vatde-1,1.3.6.1.4.1.99999.1=val",
	"description=hello,ORGANIZATIONIDENTIFIER=vatde-1,1.3.6.1.4.1.99999.1=val",
	"description=hello,organizationIdentifier=vatde-1,1.3.6.1.4.1.99999.2=val",
	"description=hello,organizationIdentifier=vatde-1,1.3.6.1.4.1.099999.1=val",
	"description=hello,organizationIdentifier=vatde-1,1.3.6.1.4.1.99999.1.=val",
	"description=hello,organizationIdentifier=vatde-1,1..3=val",
	"description=hello,organizationIdentifier=vatde-1,.1.3=val",
	"description=hello,organizationIdentifier=vatde-1,OID.=val",
	"description=hello,organizationIdentifier=vatde-1,1.3.6.1.4.1.123456789012345678901234567890=val",
	"OID.OID.2.5.4.3=x",
	"2.5.4.3=dup,OU=x+OU=x,O=o",
	"3.5=x",
	"1.40=x",
	"2.999999999999999999999=x",
	/* blank values */
	"CN=,DC=com",
	"CN=   ,DC=com",
	"CN=\" \",DC=com",
	"CN=\"\",DC=com",
	"CN=\\20,DC=com",
	"CN=x,DC=com",
	/* OpenSSL's printed forms (cert_info.subject) */
	"OU=b+CN=a,O=Contoso\\, Inc.",
	"UID=jdoe,DC=example,DC=com",
	"emailAddress=x@Y.org,OU=A\\09B\\0A C,O=\\  Spaced   Org\\ ",
	"CN=dup,OU=x+OU=X,O=o",
	"street=1 Main St,L=Munich,ST=Bavaria,SN=Lee,GN=Ann,title=Dr,serialNumber=123",
	"CN=a\\\"b\\\\c\\,d\\+e\\;f=g\\<h\\>#i",
	"CN=\\ ,DC=com",
	/* malformed */
	"",
	" ",
	",",
	"CN",
	"=x",
	"CN=a,,O=b",
	"CN=a;;",
	"CN=a\\",
	"CN=\"a",
	"CN=a\"b",
	"Bogus=zz",
	"CN=a,Bogus=zz",
	"not a dn",
	"#0403",
	"CN=#0403",
	"CN = \"a\" b",
};
#define DNCASE_NTEXT (sizeof(dncase_texts) / sizeof(dncase_texts[0]))

/* dncase_want[i][j]: '1' if dncase_texts[i] matched dncase_dns[j]; NULL
 * if the old parser refused dncase_texts[i]. */
static const char *const dncase_want[] = {
	"100000000",
	"100000000",
	"100000000",
	"100000000",
	NULL,
	"000000000",
	"100000000",
	"100000000",
	"100000000",
	"000000000",
	"000000000",
	"000000000",
	"100000000",
	"010000000",
	"010000000",
	"010000000",
	"010000000",
	"010000000",
	NULL,
	"000000000",
	"000000000",
	"000000000",
	"000000000",
	NULL,
	NULL,
	NULL,
	"010000000",
	NULL,
	NULL,
	NULL,
	"001000000",
	"001000000",
	"001000000",
	"001000000",
	"000000000",
	"000000000",
	"000000000",
	"000100000",
	"000100000",
	"000100000",
	"000000000",
	"000100000",
	"000100000",
	"000100000",
	"000100000",
	"000010000",
	"000010000",
	"000000000",
	"000000000",
	"000000000",
	"000001000",
	"000001000",
	"000001000",
	"000000000",
	"000000000",
	"000000100",
	"000000100",
	"000000100",
	"000000100",
	NULL,
	"000000000",
	"000000100",
	"000000000",
	"000000000",
	"000000010",
	"000000010",
	NULL,
	"000000010",
	"000000000",
	"000000010",
	"000000010",
	"000000000",
	NULL,
	NULL,
	"000000000",
	NULL,
	"000010000",
	NULL,
	NULL,
	"000000000",
	"000000001",
	"000000001",
	"000000001",
	"000000001",
	"000000001",
	"000000000",
	"010000000",
	"001000000",
	"000100000",
	"000010000",
	"000001000",
	"000000100",
	"000000001",
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
};

#endif /* !SPOA_TEST_DN_CASES_H */
