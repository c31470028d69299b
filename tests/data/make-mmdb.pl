#!/usr/bin/perl
# make-mmdb.pl DIR: writes the MaxMind DB fixtures of the fl-geo tests into
# DIR with the real writer (MaxMind::DB::Writer), so the tests read files of
# the same shape as the ones users have:
#   mm-city.mmdb    MaxMind schema, GeoLite2-City: country.iso_code, city.names.en, location
#   mm-asn.mmdb     MaxMind schema, GeoLite2-ASN
#   flat-country.mmdb  ip-location-db flat schema (country_code), IPv4 and IPv6
#   flat-country-v4.mmdb  the same, IPv4 only (ip-location-db's -ipv4 files)
#   flat-asn.mmdb   ip-location-db flat ASN schema
#   flat-city.mmdb  ip-location-db flat city schema (city, country_code, latitude, longitude)
# Every database holds IPv4 and IPv6 networks (except the -v4 one); the
# values are made up but the networks are real ones, so a reader that looks
# in the wrong place finds a different answer, not the same one.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $dir = shift or die "usage: make-mmdb.pl DIR\n";

my %mm_types = (
	country => 'map', registered_country => 'map', iso_code => 'utf8_string',
	city => 'map', names => 'map', en => 'utf8_string',
	location => 'map', latitude => 'double', longitude => 'double',
	autonomous_system_number => 'uint32', autonomous_system_organization => 'utf8_string',
);
my %flat_types = (
	country_code => 'utf8_string', city => 'utf8_string', state1 => 'utf8_string',
	latitude => 'float', longitude => 'float',
	autonomous_system_number => 'uint32', autonomous_system_organization => 'utf8_string',
);

sub write_db {
	my ($file, $type, $types, $ipv, $nets) = @_;
	my $tree = MaxMind::DB::Writer::Tree->new(
		ip_version => $ipv,
		record_size => 28,
		database_type => $type,
		languages => ['en'],
		description => { en => "fl-tools test fixture $type" },
		map_key_type_callback => sub { $types->{ $_[0] } },
		alias_ipv6_to_ipv4 => ($ipv == 6 ? 1 : 0),
		remove_reserved_networks => 0,
	);
	for my $n (@$nets) {
		$tree->insert_network($n->[0], $n->[1]);
	}
	open my $fh, '>:raw', "$dir/$file" or die "$dir/$file: $!\n";
	$tree->write_tree($fh);
	close $fh or die "$dir/$file: $!\n";
}

sub mm_city {
	my ($cc, $city, $lat, $lon) = @_;
	my %r = (country => { iso_code => $cc }, location => { latitude => $lat, longitude => $lon });
	$r{city} = { names => { en => $city } } if defined $city;
	return \%r;
}

write_db('mm-city.mmdb', 'GeoLite2-City', \%mm_types, 6, [
	[ '81.2.69.0/24',      mm_city('GB', 'London', 51.5142, -0.0931) ],
	[ '13.69.0.0/17',      mm_city('NL', 'Amsterdam', 52.3759, 4.8975) ],
	[ '8.8.8.0/24',        mm_city('US', undef, 37.751, -97.822) ],
	# anycast: no country, only the registered one
	[ '1.1.1.0/24',        { registered_country => { iso_code => 'AU' } } ],
	[ '2a02:ff0::/32',     mm_city('SE', 'Stockholm', 59.3293, 18.0686) ],
	[ '2603:1020::/32',    mm_city('NL', 'Amsterdam', 52.3759, 4.8975) ],
	# never to be looked up: fl-geo must not ask a database about these
	[ '10.0.0.0/8',        mm_city('ZZ', 'Private', 0, 0) ],
	[ '168.63.129.0/24',   mm_city('ZZ', 'Platform', 0, 0) ],
]);

write_db('mm-asn.mmdb', 'GeoLite2-ASN', \%mm_types, 6, [
	[ '81.2.69.0/24',   { autonomous_system_number => 20712, autonomous_system_organization => 'Andrews & Arnold Ltd' } ],
	[ '13.64.0.0/11',   { autonomous_system_number => 8075, autonomous_system_organization => 'MICROSOFT-CORP-MSN-AS-BLOCK' } ],
	[ '8.8.8.0/24',     { autonomous_system_number => 15169, autonomous_system_organization => 'GOOGLE' } ],
	[ '2a02:ff0::/32',  { autonomous_system_number => 29518, autonomous_system_organization => 'Bredband2 AB' } ],
	[ '2603:1000::/24', { autonomous_system_number => 8075, autonomous_system_organization => 'MICROSOFT-CORP-MSN-AS-BLOCK' } ],
]);

my @flat_country = (
	[ '81.2.69.0/24',   { country_code => 'IE' } ],
	[ '13.69.0.0/17',   { country_code => 'IE' } ],
	[ '8.8.8.0/24',     { country_code => 'CA' } ],
	[ '2a02:ff0::/32',  { country_code => 'NO' } ],
	[ '2603:1020::/32', { country_code => 'IE' } ],
);
write_db('flat-country.mmdb', 'geo-whois-asn-country', \%flat_types, 6, \@flat_country);
write_db('flat-country-v4.mmdb', 'geo-whois-asn-country-ipv4', \%flat_types, 4,
	[ grep { $_->[0] !~ /:/ } @flat_country ]);

write_db('flat-asn.mmdb', 'asn', \%flat_types, 6, [
	[ '81.2.69.0/24',   { autonomous_system_number => 64501, autonomous_system_organization => 'Flat Org One' } ],
	[ '8.8.8.0/24',     { autonomous_system_number => 64502 } ],
	[ '2a02:ff0::/32',  { autonomous_system_number => 64503, autonomous_system_organization => 'Flat Org Three' } ],
]);

write_db('flat-city.mmdb', 'dbip-city', \%flat_types, 6, [
	[ '81.2.69.0/24',   { country_code => 'FR', city => 'Lyon', state1 => 'Rhone', latitude => 45.75, longitude => 4.85 } ],
	[ '2a02:ff0::/32',  { country_code => 'FI', city => 'Espoo', latitude => 60.2, longitude => 24.66 } ],
]);
