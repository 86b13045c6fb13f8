// The compiled read loop of `survatlas import osm` (survatlas.ingest._osmcore).
//
// It reads an OSM file with libosmium (its thread pool decodes PBF blocks), keeps node
// locations, assembles areas (as pyosmium's FileProcessor.with_areas does: relations in a first
// pass — here on its own thread, while the nodes are read — closed ways and multipolygons in
// the second), applies the importer's tag filters and hands Python whole chunks: plain
// buildings and streets as columns with their boxes, the few objects whose decision needs the
// project's vocabularies (devices, sites) as tuples with their tags, and, when asked, the
// objects of the map's context (survatlas.ingest._context_rules).
// The decisions stay in Python (survatlas.ingest._osmcompiled); this file only applies the key
// and value sets Python hands it. Built by scripts/build_osmcore.py (`make osmcore`).
//
// © OpenStreetMap contributors for the data it reads (ODbL).

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <osmium/area/assembler.hpp>
#include <osmium/area/multipolygon_manager.hpp>
#include <osmium/geom/wkb.hpp>
#include <osmium/handler.hpp>
#include <osmium/handler/node_locations_for_ways.hpp>
#include <osmium/index/map/flex_mem.hpp>
#include <osmium/index/map/sparse_file_array.hpp>
#include <osmium/io/any_input.hpp>
#include <osmium/tags/tags_filter.hpp>
#include <osmium/thread/pool.hpp>
#include <osmium/visitor.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#ifndef SOURCE_HASH
#define SOURCE_HASH "unknown"
#endif

namespace {

using Index = osmium::index::map::Map<osmium::unsigned_object_id_type, osmium::Location>;
using LocationHandler = osmium::handler::NodeLocationsForWays<Index>;
using MpManager = osmium::area::MultipolygonManager<osmium::area::Assembler>;
using Tags = std::vector<std::pair<std::string, std::string>>;

struct Config {
    std::vector<std::string> keys;              // an object passes with any of these keys
    std::unordered_set<std::string> non_street; // highway values that are no street
    // the tags that may make a site: key -> (any value but "no", else these values)
    std::unordered_map<std::string, std::pair<bool, std::unordered_set<std::string>>> site_rules;
    std::vector<std::string> building_keys;     // tags kept for plain buildings
    std::vector<std::string> walk_keys;         // tags the walking rule reads
    // the map's context (survatlas.ingest.context): key -> values, and the keys of its areas;
    // empty when the import does not keep the context
    std::unordered_map<std::string, std::unordered_set<std::string>> context_pairs;
    std::vector<std::string> context_area_keys;
};

// A device or site candidate: decided in Python from its tags.
struct Candidate {
    char kind;        // 'n' node, 'a' area, 'r' a rejected object (the message in geom)
    char osm_type;    // 'n', 'w', 'r'
    int64_t id;
    int64_t version;
    int64_t ts;
    double lon = 0, lat = 0;
    bool valid = false;  // node: valid location; area: geometry built
    std::string geom;
    Tags tags;
    size_t building_pos = 0;  // plain building rows gathered before this area
};

struct Chunk {
    std::vector<char> b_type;
    std::vector<int64_t> b_id, b_version, b_ts;
    std::vector<std::string> b_geom, b_tags;
    std::vector<double> b_box, s_box;  // 4 a geometry: min x, min y, max x, max y
    std::vector<int64_t> s_id, s_version, s_ts;
    std::vector<std::string> s_geom, s_tags, s_highway;
    std::vector<const char*> s_name_null;  // nullptr: no name
    std::vector<std::string> s_name;
    std::vector<std::vector<std::pair<bool, std::string>>> s_walk;
    std::vector<Candidate> candidates;  // and rejections (kind 'r', message in geom), in order
    std::vector<Candidate> context;     // context features: node 'n', way 'w', area 'a'
    int64_t max_ts = INT64_MIN;  // of the plain buildings and streets
    size_t n = 0;
    size_t geom_bytes = 0;

    void clear() { *this = Chunk{}; }
};

bool has_any_key(const osmium::TagList& tags, const std::vector<std::string>& keys) {
    for (const auto& key : keys) {
        if (tags.has_key(key.c_str())) {
            return true;
        }
    }
    return false;
}

bool equals(const char* value, const char* text) {
    return value != nullptr && std::strcmp(value, text) == 0;
}

// Whether a tag may make a site (Python decides which categories, if any).
bool may_make_site(const Config& cfg, const osmium::TagList& tags) {
    for (const auto& tag : tags) {
        const auto rule = cfg.site_rules.find(tag.key());
        if (rule != cfg.site_rules.end() &&
            ((rule->second.first && std::strcmp(tag.value(), "no") != 0) ||
             rule->second.second.count(tag.value()) > 0)) {
            return true;
        }
    }
    return false;
}

// Whether an object has one of the context's (key, value) pairs.
bool has_context_pair(const Config& cfg, const osmium::TagList& tags) {
    if (cfg.context_pairs.empty()) {
        return false;
    }
    for (const auto& tag : tags) {
        const auto pair = cfg.context_pairs.find(tag.key());
        if (pair != cfg.context_pairs.end() && pair->second.count(tag.value()) > 0) {
            return true;
        }
    }
    return false;
}

// json.encoder.encode_basestring (ensure_ascii=False): quotes, backslash and control characters
void quote(std::string& out, const char* text) {
    static const char hex[] = "0123456789abcdef";
    out.push_back('"');
    for (const char* p = text; *p; ++p) {
        const auto c = static_cast<unsigned char>(*p);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out.push_back(hex[c >> 4]);
                    out.push_back(hex[c & 15]);
                } else {
                    out.push_back(static_cast<char>(c));
                }
        }
    }
    out.push_back('"');
}

// encode_tags: json.dumps(tags, sort_keys=True, ensure_ascii=False); UTF-8 byte order is code
// point order, so sorting the bytes sorts as Python sorts the keys
std::string encode(std::vector<std::pair<const char*, const char*>> tags) {
    std::sort(tags.begin(), tags.end(), [](const auto& a, const auto& b) {
        return std::strcmp(a.first, b.first) < 0;
    });
    std::string out{"{"};
    bool first = true;
    for (const auto& tag : tags) {
        if (!first) {
            out += ", ";
        }
        first = false;
        quote(out, tag.first);
        out += ": ";
        quote(out, tag.second);
    }
    out.push_back('}');
    return out;
}

std::vector<std::pair<const char*, const char*>> all_tags(const osmium::TagList& tags) {
    std::vector<std::pair<const char*, const char*>> out;
    out.reserve(tags.size());
    for (const auto& tag : tags) {
        out.emplace_back(tag.key(), tag.value());
    }
    return out;
}

Tags copy_tags(const osmium::TagList& tags) {
    Tags out;
    out.reserve(tags.size());
    for (const auto& tag : tags) {
        out.emplace_back(tag.key(), tag.value());
    }
    return out;
}

void append_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void append_f64(std::string& out, double v) { out.append(reinterpret_cast<const char*>(&v), 8); }

// Appends min x, min y, max x, max y of a WKB made here (little-endian, 2-D: a point, a
// linestring or a multipolygon) to `out`: the very doubles of the geometry, so the writer
// need not read them back from the bytes. NaN for a geometry without coordinates.
void append_box(const std::string& wkb, std::vector<double>& out) {
    const char* p = wkb.data();
    const char* end = p + wkb.size();
    double box[4] = {NAN, NAN, NAN, NAN};
    auto u32 = [&](size_t at) {
        uint32_t v = 0;
        if (p + at + 4 <= end) {
            std::memcpy(&v, p + at, 4);
        }
        return v;
    };
    auto points = [&](const char* at, uint32_t n) {  // n (x, y) pairs from `at`
        for (uint32_t i = 0; i < n && at + 16 <= end; ++i, at += 16) {
            double x, y;
            std::memcpy(&x, at, 8);
            std::memcpy(&y, at + 8, 8);
            box[0] = std::isnan(box[0]) ? x : std::min(box[0], x);
            box[1] = std::isnan(box[1]) ? y : std::min(box[1], y);
            box[2] = std::isnan(box[2]) ? x : std::max(box[2], x);
            box[3] = std::isnan(box[3]) ? y : std::max(box[3], y);
        }
        return at;
    };
    const uint32_t type = wkb.size() >= 5 ? u32(1) : 0;
    if (type == 1) {
        points(p + 5, 1);
    } else if (type == 2) {
        points(p + 9, u32(5));
    } else if (type == 6) {
        const uint32_t polygons = u32(5);
        const char* at = p + 9;
        for (uint32_t k = 0; k < polygons && at + 9 <= end; ++k) {
            uint32_t rings;
            std::memcpy(&rings, at + 5, 4);
            at += 9;
            for (uint32_t r = 0; r < rings && at + 4 <= end; ++r) {
                uint32_t n;
                std::memcpy(&n, at, 4);
                at = points(at + 4, n);
            }
        }
    }
    out.insert(out.end(), box, box + 4);
}

class Reader : public osmium::handler::Handler {
public:
    Reader(const std::string& path, Config cfg, int index_fd)
        : m_cfg(std::move(cfg)), m_file(path),
          m_wkb(osmium::geom::wkb_type::wkb, osmium::geom::out_type::binary) {
        if (index_fd >= 0) {
            m_index = std::make_unique<osmium::index::map::SparseFileArray<
                osmium::unsigned_object_id_type, osmium::Location>>(index_fd);
        } else {
            m_index = std::make_unique<osmium::index::map::FlexMem<
                osmium::unsigned_object_id_type, osmium::Location>>();
        }
        m_locations = std::make_unique<LocationHandler>(*m_index);
        m_locations->ignore_errors();
        osmium::TagsFilter filter{false};
        for (const auto& key : m_cfg.keys) {
            filter.add_rule(true, osmium::TagMatcher{key});
        }
        for (const auto& key : m_cfg.context_area_keys) {
            filter.add_rule(true, osmium::TagMatcher{key});
        }
        m_areas = std::make_unique<MpManager>(m_assembler_config, filter);
        m_areas->set_callback([this](osmium::memory::Buffer&& buffer) {
            for (const auto& area : buffer.select<osmium::Area>()) {
                this->take_area(area);
            }
        });
        // The first pass (the relations that may become areas) runs on a thread of its own
        // while the nodes are read, which need no relation; the first way waits for it
        // (relations_ready). It used to come first: a quarter of a small file's import.
        m_relations = std::thread([this] {
            try {
                osmium::io::Reader relations{m_file, osmium::osm_entity_bits::relation, m_pool};
                osmium::apply(relations, *m_areas);
                relations.close();
                m_areas->prepare_for_lookup();
            } catch (...) {
                m_relations_error = std::current_exception();
            }
        });
        try {
            m_reader = std::make_unique<osmium::io::Reader>(
                m_file, osmium::osm_entity_bits::node | osmium::osm_entity_bits::way, m_pool);
            const auto& header = m_reader->header();
            m_header_ts = header.get("osmosis_replication_timestamp");
            if (m_header_ts.empty()) {
                m_header_ts = header.get("timestamp");
            }
        } catch (...) {
            m_relations.join();
            throw;
        }
    }

    ~Reader() {
        if (m_relations.joinable()) {
            m_relations.join();
        }
    }

    const std::string& header_timestamp() const { return m_header_ts; }
    bool done() const { return m_done; }
    Chunk& chunk() { return m_chunk; }

    // Reads buffers until the chunk holds `size` objects or `bytes` of geometry, or the end.
    void fill(size_t size, size_t bytes) {
        while (!m_done && m_chunk.n < size && m_chunk.geom_bytes < bytes) {
            osmium::memory::Buffer buffer = m_reader->read();
            if (!buffer) {
                relations_ready();
                m_areas->flush_output();
                m_reader->close();
                m_done = true;
                break;
            }
            osmium::apply(buffer, *m_locations, *this);
            if (m_ready) {  // (before, the first pass may still be filling the manager)
                m_areas->flush_output();
            }
        }
    }

    void node(const osmium::Node& node) {
        const auto& tags = node.tags();
        if (has_context_pair(m_cfg, tags)) {
            Candidate c{'n', 'n', node.id(), 0, 0};
            c.valid = node.location().valid();
            if (c.valid) {
                c.geom = m_wkb.create_point(node);
            }
            c.tags = copy_tags(tags);
            m_chunk.context.push_back(std::move(c));
        }
        if (!has_any_key(tags, m_cfg.keys)) {
            return;
        }
        ++m_chunk.n;
        const bool candidate = equals(tags["man_made"], "surveillance") ||
                               equals(tags["highway"], "speed_camera") ||
                               may_make_site(m_cfg, tags);
        if (!candidate) {
            return;
        }
        Candidate c{'n', 'n', node.id(), node.version(), node.timestamp().seconds_since_epoch()};
        c.valid = node.location().valid();
        if (c.valid) {
            c.lon = node.location().lon();
            c.lat = node.location().lat();
            c.geom = m_wkb.create_point(node);
        }
        c.tags = copy_tags(tags);
        m_chunk.candidates.push_back(std::move(c));
    }

    void way(const osmium::Way& way) {
        if (!m_ready) {
            relations_ready();
        }
        m_areas->handle_way(way);
        const auto& tags = way.tags();
        if (has_context_pair(m_cfg, tags)) {  // its line: the nodes inside the extract
            Candidate c{'w', 'w', way.id(), 0, 0};
            c.geom = clipped_linestring(way);
            c.valid = !c.geom.empty();
            c.tags = copy_tags(tags);
            m_chunk.context.push_back(std::move(c));
        }
        if (!has_any_key(tags, m_cfg.keys)) {
            return;
        }
        ++m_chunk.n;
        const char* highway = tags["highway"];
        if (highway == nullptr || m_cfg.non_street.count(highway) || equals(tags["area"], "yes")) {
            if (equals(tags["man_made"], "surveillance")) {
                reject("way/" + std::to_string(way.id()) +
                       ": man_made=surveillance on a way (map it as a node)");
            }
            return;
        }
        std::string geom;
        try {
            geom = m_wkb.create_linestring(way);
        } catch (const std::runtime_error&) {  // invalid locations: a clipped way
            geom = clipped_linestring(way);
            if (geom.empty()) {
                reject("way/" + std::to_string(way.id()) +
                       ": fewer than two nodes inside the extract");
                return;
            }
        }
        auto& ch = m_chunk;
        const int64_t ts = way.timestamp().seconds_since_epoch();
        ch.max_ts = std::max(ch.max_ts, ts);
        ch.geom_bytes += geom.size();
        ch.s_id.push_back(way.id());
        ch.s_version.push_back(way.version());
        ch.s_ts.push_back(ts);
        append_box(geom, ch.s_box);
        ch.s_geom.push_back(std::move(geom));
        ch.s_tags.push_back(encode(all_tags(tags)));
        ch.s_highway.emplace_back(highway);
        const char* name = tags["name"];
        ch.s_name_null.push_back(name);
        ch.s_name.emplace_back(name ? name : "");
        std::vector<std::pair<bool, std::string>> walk;
        for (const auto& key : m_cfg.walk_keys) {
            const char* value = tags[key.c_str()];
            walk.emplace_back(value != nullptr, value ? value : "");
        }
        ch.s_walk.push_back(std::move(walk));
    }

private:
    // Waits for the first pass; raises its error, if any.
    void relations_ready() {
        if (m_relations.joinable()) {
            m_relations.join();
        }
        if (m_relations_error) {
            std::rethrow_exception(m_relations_error);
        }
        m_ready = true;
    }

    void reject(std::string message) {
        Candidate c{'r', 'n', 0, 0, 0};
        c.geom = std::move(message);
        m_chunk.candidates.push_back(std::move(c));
    }

    std::string clipped_linestring(const osmium::Way& way) {
        std::vector<osmium::Location> coords;
        for (const auto& ref : way.nodes()) {
            const auto loc = ref.location();
            if (loc.valid() && (coords.empty() || !(coords.back() == loc))) {
                coords.push_back(loc);
            }
        }
        if (coords.size() < 2) {
            return {};
        }
        std::string out;
        out.push_back('\x01');
        append_u32(out, 2);
        append_u32(out, static_cast<uint32_t>(coords.size()));
        for (const auto& loc : coords) {
            append_f64(out, loc.lon());
            append_f64(out, loc.lat());
        }
        return out;
    }

    void take_area(const osmium::Area& area) {
        const auto& tags = area.tags();
        if (has_context_pair(m_cfg, tags)) {
            Candidate c{'a', area.from_way() ? 'w' : 'r', area.orig_id(), 0, 0};
            try {
                c.geom = m_wkb.create_multipolygon(area);
                c.valid = true;
            } catch (const std::runtime_error&) {  // a broken polygon: the map lacks it
            }
            c.tags = copy_tags(tags);
            m_chunk.context.push_back(std::move(c));
        }
        if (!has_any_key(tags, m_cfg.keys)) {
            return;
        }
        ++m_chunk.n;
        const char* building = tags["building"];
        const bool is_building = building != nullptr && std::strcmp(building, "no") != 0;
        const bool site = may_make_site(m_cfg, tags);
        if (!is_building && !site) {
            return;
        }
        std::string geom;
        bool valid = true;
        try {
            geom = m_wkb.create_multipolygon(area);
        } catch (const std::runtime_error&) {
            valid = false;
        }
        auto& ch = m_chunk;
        const char osm_type = area.from_way() ? 'w' : 'r';
        const int64_t ts = area.timestamp().seconds_since_epoch();
        ch.geom_bytes += geom.size();
        if (site) {
            Candidate c{'a', osm_type, area.orig_id(), area.version(), ts};
            c.valid = valid;
            c.geom = std::move(geom);
            c.tags = copy_tags(tags);
            c.building_pos = ch.b_id.size();
            ch.candidates.push_back(std::move(c));
            return;
        }
        if (!valid) {
            reject("area " + std::to_string(area.orig_id()) + ": broken polygon");
            return;
        }
        std::vector<std::pair<const char*, const char*>> kept;
        for (const auto& key : m_cfg.building_keys) {
            const char* value = tags[key.c_str()];
            if (value != nullptr) {
                kept.emplace_back(key.c_str(), value);
            }
        }
        ch.max_ts = std::max(ch.max_ts, ts);
        ch.b_type.push_back(osm_type);
        ch.b_id.push_back(area.orig_id());
        ch.b_version.push_back(area.version());
        ch.b_ts.push_back(ts);
        append_box(geom, ch.b_box);
        ch.b_geom.push_back(std::move(geom));
        ch.b_tags.push_back(encode(std::move(kept)));
    }

    // the reader's own thread pool (decoding blocks), ended with it: no libosmium thread
    // outlives an import (a process forked later would wait for threads it does not have)
    osmium::thread::Pool m_pool;
    Config m_cfg;
    osmium::io::File m_file;
    osmium::geom::WKBFactory<> m_wkb;
    std::unique_ptr<Index> m_index;
    std::unique_ptr<LocationHandler> m_locations;
    osmium::area::Assembler::config_type m_assembler_config;
    std::unique_ptr<MpManager> m_areas;
    std::unique_ptr<osmium::io::Reader> m_reader;
    std::string m_header_ts;
    Chunk m_chunk;
    bool m_done = false;
    std::thread m_relations;  // the first pass, joined by the first way (or the end)
    std::exception_ptr m_relations_error;
    bool m_ready = false;     // the first pass is done: ways and areas may be handled
};

// ---------------------------------------------------------------- Python objects of a chunk

// Python strings of one chunk, made once per distinct text (timestamps, tag sets, values).
class Strings {
public:
    ~Strings() {
        for (auto& item : m_cache) {
            Py_DECREF(item.second);
        }
    }
    PyObject* get(const std::string& text) {  // new reference
        auto it = m_cache.find(text);
        if (it == m_cache.end()) {
            PyObject* value = PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "strict");
            if (value == nullptr) {
                return nullptr;
            }
            it = m_cache.emplace(text, value).first;
        }
        Py_INCREF(it->second);
        return it->second;
    }
    PyObject* iso(int64_t ts) {  // ISO 8601, whole seconds, UTC: datetime.isoformat()
        auto it = m_iso.find(ts);
        if (it != m_iso.end()) {
            return get(it->second);
        }
        std::time_t t = static_cast<std::time_t>(ts);
        std::tm tm{};
        gmtime_r(&t, &tm);
        char text[40];
        std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S+00:00", &tm);
        return get(m_iso.emplace(ts, text).first->second);
    }

private:
    std::unordered_map<std::string, PyObject*> m_cache;
    std::unordered_map<int64_t, std::string> m_iso;
};

// Steals a reference: appends `item` to `list` (false when item is NULL or appending fails).
bool put(PyObject* list, PyObject* item) {
    if (item == nullptr) {
        return false;
    }
    const int rc = PyList_Append(list, item);
    Py_DECREF(item);
    return rc == 0;
}

PyObject* blob(const std::string& data) {
    return PyByteArray_FromStringAndSize(data.data(), static_cast<Py_ssize_t>(data.size()));
}

// bytes of native doubles (never None, also when there are none)
PyObject* packed(const std::vector<double>& values) {
    return PyBytes_FromStringAndSize(values.empty() ? "" : reinterpret_cast<const char*>(values.data()),
                                     static_cast<Py_ssize_t>(values.size() * sizeof(double)));
}

PyObject* type_name(char t) {
    return PyUnicode_FromString(t == 'n' ? "node" : t == 'w' ? "way" : "relation");
}

PyObject* tags_tuple(const Tags& tags, Strings& strings) {
    PyObject* out = PyTuple_New(static_cast<Py_ssize_t>(2 * tags.size()));
    if (out == nullptr) {
        return nullptr;
    }
    Py_ssize_t i = 0;
    for (const auto& tag : tags) {
        PyObject* k = strings.get(tag.first);
        PyObject* v = k ? strings.get(tag.second) : nullptr;
        if (v == nullptr) {
            Py_XDECREF(k);
            Py_DECREF(out);
            return nullptr;
        }
        PyTuple_SET_ITEM(out, i++, k);
        PyTuple_SET_ITEM(out, i++, v);
    }
    return out;
}

PyObject* new_lists(int n) {
    PyObject* out = PyTuple_New(n);
    for (int i = 0; out && i < n; ++i) {
        PyObject* list = PyList_New(0);
        if (list == nullptr) {
            Py_DECREF(out);
            return nullptr;
        }
        PyTuple_SET_ITEM(out, i, list);
    }
    return out;
}

// (buildings columns, streets columns, candidates, n, geom bytes, max_ts, buildings' boxes,
// streets' boxes, context features): a box is 4 native doubles (min x, min y, max x, max y) a
// row; a context feature is (kind, osm type, id, WKB or None, tags)
PyObject* chunk_to_python(const Chunk& ch) {
    Strings strings;
    PyObject* b = new_lists(6);  // osm_type, osm_id, version, ts, geom, kept tags JSON
    PyObject* s = new_lists(8);  // osm_id, version, ts, geom, tags JSON, highway, name, walk
    PyObject* cands = PyList_New(0);
    bool ok = b && s && cands;
    PyObject* way = PyUnicode_FromString("way");
    PyObject* relation = PyUnicode_FromString("relation");
    ok = ok && way && relation;
    for (size_t i = 0; ok && i < ch.b_id.size(); ++i) {
        PyObject* t = ch.b_type[i] == 'w' ? way : relation;
        Py_INCREF(t);
        ok = put(PyTuple_GET_ITEM(b, 0), t) &&
             put(PyTuple_GET_ITEM(b, 1), PyLong_FromLongLong(ch.b_id[i])) &&
             put(PyTuple_GET_ITEM(b, 2), PyLong_FromLongLong(ch.b_version[i])) &&
             put(PyTuple_GET_ITEM(b, 3), strings.iso(ch.b_ts[i])) &&
             put(PyTuple_GET_ITEM(b, 4), blob(ch.b_geom[i])) &&
             put(PyTuple_GET_ITEM(b, 5), strings.get(ch.b_tags[i]));
    }
    for (size_t i = 0; ok && i < ch.s_id.size(); ++i) {
        PyObject* name = ch.s_name_null[i] ? strings.get(ch.s_name[i]) : (Py_INCREF(Py_None), Py_None);
        PyObject* walk = PyTuple_New(static_cast<Py_ssize_t>(ch.s_walk[i].size()));
        for (size_t k = 0; walk && k < ch.s_walk[i].size(); ++k) {
            const auto& w = ch.s_walk[i][k];
            PyObject* v = w.first ? strings.get(w.second) : (Py_INCREF(Py_None), Py_None);
            if (v == nullptr) {
                Py_CLEAR(walk);
                break;
            }
            PyTuple_SET_ITEM(walk, static_cast<Py_ssize_t>(k), v);
        }
        ok = put(PyTuple_GET_ITEM(s, 0), PyLong_FromLongLong(ch.s_id[i])) &&
             put(PyTuple_GET_ITEM(s, 1), PyLong_FromLongLong(ch.s_version[i])) &&
             put(PyTuple_GET_ITEM(s, 2), strings.iso(ch.s_ts[i])) &&
             put(PyTuple_GET_ITEM(s, 3), blob(ch.s_geom[i])) &&
             put(PyTuple_GET_ITEM(s, 4), strings.get(ch.s_tags[i])) &&
             put(PyTuple_GET_ITEM(s, 5), strings.get(ch.s_highway[i])) &&
             put(PyTuple_GET_ITEM(s, 6), name) && put(PyTuple_GET_ITEM(s, 7), walk);
    }
    for (size_t i = 0; ok && i < ch.candidates.size(); ++i) {
        const auto& c = ch.candidates[i];
        if (c.kind == 'r') {
            PyObject* message = strings.get(c.geom);
            ok = put(cands, message ? Py_BuildValue("(CN)", 'r', message) : nullptr);
            continue;
        }
        PyObject* geom = c.valid ? blob(c.geom) : (Py_INCREF(Py_None), Py_None);
        PyObject* tags = tags_tuple(c.tags, strings);
        PyObject* ts = strings.iso(c.ts);
        PyObject* item = nullptr;
        std::vector<double> box;
        append_box(c.valid ? c.geom : std::string{}, box);
        if (geom && tags && ts) {
            item = Py_BuildValue("(CNLLNddNNn(dddd))", c.kind, type_name(c.osm_type),
                                 (long long)c.id, (long long)c.version, ts, c.lon, c.lat, geom,
                                 tags, static_cast<Py_ssize_t>(c.building_pos), box[0], box[1],
                                 box[2], box[3]);
        } else {
            Py_XDECREF(geom);
            Py_XDECREF(tags);
            Py_XDECREF(ts);
        }
        ok = put(cands, item);
    }
    PyObject* context = PyList_New(0);
    ok = ok && context;
    for (size_t i = 0; ok && i < ch.context.size(); ++i) {
        const auto& c = ch.context[i];
        PyObject* geom = c.valid ? blob(c.geom) : (Py_INCREF(Py_None), Py_None);
        PyObject* tags = tags_tuple(c.tags, strings);
        PyObject* item = nullptr;
        if (geom && tags) {
            item = Py_BuildValue("(CNLNN)", c.kind, type_name(c.osm_type), (long long)c.id,
                                 geom, tags);
        } else {
            Py_XDECREF(geom);
            Py_XDECREF(tags);
        }
        ok = put(context, item);
    }
    PyObject* max_ts = nullptr;
    if (ok) {
        max_ts = ch.max_ts == INT64_MIN ? (Py_INCREF(Py_None), Py_None) : strings.iso(ch.max_ts);
        ok = max_ts != nullptr;
    }
    Py_XDECREF(way);
    Py_XDECREF(relation);
    if (!ok) {
        Py_XDECREF(b);
        Py_XDECREF(s);
        Py_XDECREF(cands);
        Py_XDECREF(context);
        Py_XDECREF(max_ts);
        return nullptr;
    }
    return Py_BuildValue("(NNNnnNNNN)", b, s, cands, static_cast<Py_ssize_t>(ch.n),
                         static_cast<Py_ssize_t>(ch.geom_bytes), max_ts, packed(ch.b_box),
                         packed(ch.s_box), context);
}

// ---------------------------------------------------------------- module functions

const char* const CAPSULE = "survatlas.ingest._osmcore.Reader";

void free_reader(PyObject* capsule) {
    delete static_cast<Reader*>(PyCapsule_GetPointer(capsule, CAPSULE));
}

bool strings_of(PyObject* seq, std::vector<std::string>& out) {
    PyObject* fast = PySequence_Fast(seq, "expected a sequence of str");
    if (fast == nullptr) {
        return false;
    }
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    for (Py_ssize_t i = 0; i < n; ++i) {
        const char* text = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(fast, i));
        if (text == nullptr) {
            Py_DECREF(fast);
            return false;
        }
        out.emplace_back(text);
    }
    Py_DECREF(fast);
    return true;
}

bool set_of(PyObject* seq, std::unordered_set<std::string>& out) {
    std::vector<std::string> items;
    if (!strings_of(seq, items)) {
        return false;
    }
    out.insert(items.begin(), items.end());
    return true;
}

// rules: a sequence of (key, any value but "no": bool, values: sequence of str)
bool rules_of(PyObject* seq, Config& cfg) {
    PyObject* fast = PySequence_Fast(seq, "expected a sequence of (key, bool, values)");
    if (fast == nullptr) {
        return false;
    }
    bool ok = true;
    for (Py_ssize_t i = 0; ok && i < PySequence_Fast_GET_SIZE(fast); ++i) {
        const char* key;
        int any;
        PyObject* values;
        ok = PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, i), "spO", &key, &any, &values);
        if (ok) {
            auto& rule = cfg.site_rules[key];
            rule.first = rule.first || any != 0;
            ok = set_of(values, rule.second);
        }
    }
    Py_DECREF(fast);
    return ok;
}

// pairs: a sequence of (key, value)
bool pairs_of(PyObject* seq, std::unordered_map<std::string, std::unordered_set<std::string>>& out) {
    PyObject* fast = PySequence_Fast(seq, "expected a sequence of (key, value)");
    if (fast == nullptr) {
        return false;
    }
    bool ok = true;
    for (Py_ssize_t i = 0; ok && i < PySequence_Fast_GET_SIZE(fast); ++i) {
        const char *key, *value;
        ok = PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, i), "ss", &key, &value);
        if (ok) {
            out[key].insert(value);
        }
    }
    Py_DECREF(fast);
    return ok;
}

PyObject* open_reader(PyObject*, PyObject* args) {
    const char* path;
    PyObject *keys, *non_street, *site_rules, *building_keys, *walk_keys, *context_pairs,
        *context_area_keys;
    int index_fd;
    if (!PyArg_ParseTuple(args, "sOOOOOiOO", &path, &keys, &non_street, &site_rules,
                          &building_keys, &walk_keys, &index_fd, &context_pairs,
                          &context_area_keys)) {
        return nullptr;
    }
    Config cfg;
    if (!strings_of(keys, cfg.keys) || !set_of(non_street, cfg.non_street) ||
        !rules_of(site_rules, cfg) || !strings_of(building_keys, cfg.building_keys) ||
        !strings_of(walk_keys, cfg.walk_keys) || !pairs_of(context_pairs, cfg.context_pairs) ||
        !strings_of(context_area_keys, cfg.context_area_keys)) {
        return nullptr;
    }
    Reader* reader = nullptr;
    std::string error;
    Py_BEGIN_ALLOW_THREADS
    try {
        reader = new Reader(path, std::move(cfg), index_fd);
    } catch (const std::exception& exc) {
        error = exc.what();
    }
    Py_END_ALLOW_THREADS
    if (reader == nullptr) {
        PyErr_SetString(PyExc_RuntimeError, error.empty() ? "unknown error" : error.c_str());
        return nullptr;
    }
    PyObject* capsule = PyCapsule_New(reader, CAPSULE, free_reader);
    if (capsule == nullptr) {
        delete reader;
    }
    return capsule;
}

PyObject* read_chunk(PyObject*, PyObject* args) {
    PyObject* capsule;
    Py_ssize_t size, bytes;
    if (!PyArg_ParseTuple(args, "Onn", &capsule, &size, &bytes)) {
        return nullptr;
    }
    auto* reader = static_cast<Reader*>(PyCapsule_GetPointer(capsule, CAPSULE));
    if (reader == nullptr) {
        return nullptr;
    }
    if (reader->done() && reader->chunk().n == 0) {
        Py_RETURN_NONE;
    }
    std::string error;
    Py_BEGIN_ALLOW_THREADS
    try {
        reader->fill(static_cast<size_t>(size), static_cast<size_t>(bytes));
    } catch (const std::exception& exc) {
        error = exc.what();
        if (error.empty()) {
            error = "unknown error";
        }
    }
    Py_END_ALLOW_THREADS
    if (!error.empty()) {
        reader->chunk().clear();
        PyErr_SetString(PyExc_RuntimeError, error.c_str());
        return nullptr;
    }
    PyObject* out = chunk_to_python(reader->chunk());
    reader->chunk().clear();
    return out;
}

PyObject* header_timestamp(PyObject*, PyObject* capsule) {
    auto* reader = static_cast<Reader*>(PyCapsule_GetPointer(capsule, CAPSULE));
    if (reader == nullptr) {
        return nullptr;
    }
    const auto& ts = reader->header_timestamp();
    return PyUnicode_DecodeUTF8(ts.data(), static_cast<Py_ssize_t>(ts.size()), "replace");
}

PyObject* source_hash(PyObject*, PyObject*) { return PyUnicode_FromString(SOURCE_HASH); }

PyMethodDef METHODS[] = {
    {"open", open_reader, METH_VARARGS,
     "open(path, keys, non_street, site_rules, building_keys, walk_keys, index_fd, "
     "context_pairs, context_area_keys) -> reader (starts the first pass: the relations)"},
    {"read", read_chunk, METH_VARARGS,
     "read(reader, size, bytes) -> (buildings, streets, candidates, n, geom_bytes, max_ts, "
     "building_boxes, street_boxes, context), or None at the end"},
    {"header_timestamp", header_timestamp, METH_O, "the file header's timestamp ('' if none)"},
    {"source_hash", source_hash, METH_NOARGS, "hash of the source this module was built from"},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_osmcore",
                      "The compiled OSM read loop of survatlas (libosmium).", -1, METHODS,
                      nullptr, nullptr, nullptr, nullptr};

}  // namespace

PyMODINIT_FUNC PyInit__osmcore() { return PyModule_Create(&MODULE); }
