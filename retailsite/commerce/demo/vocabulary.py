"""Word lists and the shape of the demo store: departments, subcategories, brands, taste clusters, cities.

Everything here is plain data; `generator.py` turns it into a store. No external data sets are used:
names and descriptions are assembled from these lists, so the demo never contains a real person.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Department:
    name: str
    brands: tuple[str, ...]
    adjectives: tuple[str, ...]
    materials: tuple[str, ...]  # material, flavour or feature word placed before the noun
    uses: tuple[str, ...]  # closing sentences of descriptions
    season_peak_day: int  # day of the year when the department sells best
    season_strength: float  # 0 = flat; larger = sharper yearly peak (multiplicative)
    elasticity: float  # typical price elasticity of demand (positive number; demand ~ price^-e)


@dataclass(frozen=True)
class Subcategory:
    department: str
    name: str
    nouns: tuple[str, ...]
    median_price: float
    catalog_weight: float  # share of the catalog
    features: tuple[str, ...]  # phrases for descriptions; also give content-based models something to read
    tags: tuple[str, ...]
    complement: str  # path of the subcategory whose items are bought together with this one's
    repurchase_days: int = 0  # > 0: a consumable bought again about every N days
    unit_volume_liters: float = 2.0
    name_template: str = "{brand} {adj} {material} {noun}"
    season_peak_day: int | None = None  # overrides the department's peak
    season_strength: float | None = None
    materials: tuple[str, ...] = ()  # overrides the department's materials when set

    @property
    def path(self) -> str:
        return f"{self.department} > {self.name}"


@dataclass(frozen=True)
class TasteCluster:
    """A latent shopper type: most of its purchases fall in `core` subcategories."""

    name: str
    core: tuple[str, ...]  # subcategory paths
    base_logit: float
    # Mild links to demographics (added to the logit); keys: "young" (<30), "family" (28-44), "senior" (55+),
    # "F", "M", and region names.
    demographic_logits: tuple[tuple[str, float], ...]
    orders_per_year_factor: float = 1.0
    price_sensitivity: float = 0.0  # > 0 prefers cheaper items within a category, < 0 premium ones


DEPARTMENTS: tuple[Department, ...] = (
    Department("Home", ("Nordhaven", "Lumen & Oak", "Casa Verde", "Hearthstone", "Maison Blanc", "Tidewell"),
               ("Classic", "Nordic", "Rustic", "Modern", "Coastal", "Essential", "Artisan", "Minimal"),
               ("Stoneware", "Linen", "Oak", "Bamboo", "Cotton", "Glass", "Ceramic", "Cast Iron", "Steel", "Wool"),
               ("Made for everyday living at home.", "A thoughtful housewarming gift.",
                "Easy to care for and built to last.", "Designed to fit small apartments and family homes alike."),
               335, 0.25, 1.4),
    Department("Garden", ("GreenFern", "Bloomfield", "Rootstock", "Terra Nova", "Willow & Spade"),
               ("Heavy-Duty", "Ergonomic", "Weatherproof", "Classic", "Compact", "Deluxe"),
               ("Galvanized", "Teak", "Acacia", "Aluminium", "Recycled", "Rattan", "Organic"),
               ("Ready for the first warm days of spring.", "Built for balconies, patios and allotments.",
                "Tough enough for every season outdoors."),
               125, 1.3, 1.6),
    Department("Fashion", ("Arden & Co", "Meridian", "Northline", "Vela", "Kestrel", "Loom Studio"),
               ("Slim-Fit", "Relaxed", "Classic", "Vintage", "Essential", "Tailored", "Oversized"),
               ("Cotton", "Denim", "Merino", "Linen", "Leather", "Cashmere", "Suede"),
               ("Pairs with everything in your wardrobe.", "Cut for comfort from morning to night.",
                "A timeless piece for every season."),
               320, 0.2, 1.9),
    Department("Electronics", ("Voltra", "Pixelon", "Aurion", "Sonique", "Nimbus", "Helix"),
               ("Pro", "Ultra", "Wireless", "Compact", "Smart", "Max", "Lite", "Studio"),
               ("Noise-Cancelling", "4K", "USB-C", "Bluetooth", "Fast-Charge", "Portable"),
               ("Backed by a two-year warranty.", "Sets up in minutes with the companion app.",
                "Engineered for all-day performance."),
               333, 0.7, 2.2),
    Department("Beauty", ("Lumière", "Botanica", "Pure Ritual", "Velvet Rose", "Aqua Vera"),
               ("Hydrating", "Nourishing", "Radiant", "Gentle", "Revitalizing", "Matte", "Botanical"),
               ("Vitamin C", "Hyaluronic", "Argan Oil", "Rose", "Aloe", "Shea Butter", "Charcoal"),
               ("Dermatologist tested and cruelty free.", "Suitable for sensitive skin.",
                "A small luxury for your daily routine."),
               345, 0.3, 1.5),
    Department("Grocery", ("Roastery Row", "Good Harvest", "Pantry Lane", "Origin & Leaf", "Sunmeadow"),
               ("Organic", "Fair Trade", "Artisan", "Classic", "Premium", "Everyday", "Single-Origin"),
               ("Dark Roast", "Vanilla", "Sea Salt", "Hazelnut", "Wildflower", "Extra Virgin", "Whole Grain"),
               ("Sourced from trusted growers.", "Great for the weekly shop.", "Resealable pack keeps it fresh."),
               350, 0.1, 1.3),
    Department("Sports", ("Trailhead", "Apex Motion", "Riverrun", "Summit Gear", "Stride Lab"),
               ("Lightweight", "Breathable", "Reflective", "Insulated", "Pro", "Trail", "All-Weather"),
               ("Ripstop", "Merino", "Neoprene", "Aluminium", "Carbon", "Recycled"),
               ("Tested on trails, roads and mountain tops.", "Light enough to take anywhere.",
                "Built for training in every weather."),
               185, 0.7, 1.7),
    Department("Kids", ("Little Oak", "Kiddo & Co", "Bright Beginnings", "Puddle Jump", "Tinytown"),
               ("Colorful", "Wooden", "Giant", "Mini", "Educational", "Cuddly", "Sensory"),
               ("Wooden", "Organic Cotton", "Plush", "Recycled", "Soft"),
               ("Safety tested for little hands.", "A favourite gift for birthdays and holidays.",
                "Encourages creative, screen-free play."),
               350, 1.2, 1.6),
    Department("Pets", ("Happy Paws", "Whisker Co", "Tailwind", "Barkley", "Purrfect"),
               ("Grain-Free", "Natural", "Durable", "Orthopedic", "Cozy", "Senior", "Indoor"),
               ("Salmon", "Chicken", "Lamb", "Plush", "Rope", "Sisal"),
               ("Vet approved.", "Loved by dogs and cats alike.", "Made with the ingredients pets need."),
               340, 0.15, 1.4),
    Department("Books", ("Harbor Press", "Lantern Books", "Bluebell Publishing", "Northstar Editions"),
               ("Silent", "Last", "Hidden", "Golden", "Distant", "Quiet", "Forgotten", "Wild", "Secret"),
               ("Paperback", "Hardcover"),
               ("A book to lose yourself in.", "Chosen by our booksellers.", "The perfect gift for readers."),
               345, 0.45, 1.2),
)

_D = "{brand} {adj} {material} {noun}"
_GROCERY = "{brand} {adj} {noun}, {variant}"

SUBCATEGORIES: tuple[Subcategory, ...] = (
    # Home
    Subcategory("Home", "Kitchen", ("Mug", "Chef's Knife", "Frying Pan", "Saucepan", "Cutting Board", "Teapot",
                                    "Mixing Bowl", "Baking Tray", "Salad Bowl", "Kettle", "Toaster", "Spatula Set"),
                35, 1.4, ("a dishwasher-safe finish", "an ergonomic handle", "even heat distribution",
                          "a non-slip base"),
                ("kitchen", "cooking", "dining"), "Home > Kitchen", unit_volume_liters=3.0,
                materials=("Stoneware", "Ceramic", "Cast Iron", "Steel", "Bamboo", "Glass")),
    Subcategory("Home", "Coffee Makers", ("Espresso Machine", "French Press", "Pour-Over Set", "Moka Pot",
                                          "Milk Frother", "Coffee Grinder"),
                79, 0.6, ("a precise temperature control", "a removable water tank", "a burr grinder",
                          "a rich crema"), ("coffee", "kitchen", "barista"), "Grocery > Coffee & Tea",
                unit_volume_liters=8.0,
                materials=("Steel", "Glass", "Ceramic", "Matte Black")),
    Subcategory("Home", "Bedding", ("Duvet Cover", "Pillow", "Throw Blanket", "Fitted Sheet", "Quilt",
                                    "Mattress Topper"),
                55, 0.9, ("a breathable weave", "hypoallergenic filling", "a soft brushed finish", "hidden zips"),
                ("bedroom", "sleep", "textiles"), "Home > Bedding", unit_volume_liters=12.0,
                materials=("Linen", "Cotton", "Wool", "Bamboo", "Percale")),
    Subcategory("Home", "Decor", ("Vase", "Candle Holder", "Wall Mirror", "Picture Frame", "Table Lamp",
                                  "Cushion", "Rug"),
                39, 1.0, ("a hand-finished surface", "a warm glow", "a timeless silhouette", "subtle texture"),
                ("decor", "living room", "interior"), "Home > Decor", unit_volume_liters=6.0,
                materials=("Oak", "Glass", "Ceramic", "Linen", "Brass", "Wool")),
    Subcategory("Home", "Bath", ("Bath Towel", "Bath Mat", "Shower Curtain", "Soap Dispenser", "Towel Rail"),
                25, 0.7, ("quick-drying fibres", "a spa feel", "rust-proof fittings", "a plush pile"),
                ("bathroom", "towels", "spa"), "Home > Bath", unit_volume_liters=4.0,
                materials=("Cotton", "Bamboo", "Steel", "Waffle")),
    Subcategory("Home", "Storage", ("Storage Box", "Shelf Unit", "Laundry Basket", "Drawer Organizer",
                                    "Coat Rack"),
                32, 0.7, ("a stackable design", "tool-free assembly", "a space-saving footprint", "sturdy joints"),
                ("storage", "organization", "tidy"), "Home > Storage", unit_volume_liters=20.0,
                materials=("Oak", "Bamboo", "Steel", "Seagrass", "Canvas")),
    # Garden
    Subcategory("Garden", "Plants & Seeds", ("Seed Kit", "Herb Planter", "Flower Bulbs", "Tomato Seeds",
                                             "Rose Bush", "Lavender Plant"),
                12, 0.8, ("high germination rates", "easy growing instructions", "pollinator-friendly flowers",
                          "organic seed"), ("seeds", "plants", "spring"), "Garden > Watering",
                unit_volume_liters=1.0, season_peak_day=100, season_strength=1.6,
                materials=("Organic", "Heirloom", "Perennial", "Dwarf")),
    Subcategory("Garden", "Garden Tools", ("Pruning Shears", "Trowel", "Rake", "Spade", "Garden Gloves",
                                           "Hedge Trimmer"),
                28, 0.8, ("hardened steel blades", "a cushioned grip", "a rust-resistant coating",
                          "a lifetime guarantee"), ("tools", "gardening", "outdoor"), "Garden > Plants & Seeds",
                unit_volume_liters=4.0,
                materials=("Steel", "Ash Wood", "Carbon Steel", "Stainless")),
    Subcategory("Garden", "Outdoor Furniture", ("Patio Chair", "Garden Bench", "Parasol", "Sun Lounger",
                                                "Bistro Set"),
                149, 0.6, ("a weather-resistant finish", "UV-stable fabric", "a foldable frame", "stainless fixings"),
                ("patio", "outdoor", "summer"), "Garden > Outdoor Furniture", unit_volume_liters=90.0,
                season_peak_day=150,
                materials=("Teak", "Acacia", "Aluminium", "Rattan")),
    Subcategory("Garden", "Watering", ("Garden Hose", "Watering Can", "Sprinkler", "Drip Irrigation Kit",
                                       "Hose Reel"),
                29, 0.6, ("a kink-free hose", "adjustable spray patterns", "leak-proof connectors",
                          "a water-saving timer"), ("watering", "gardening", "summer"), "Garden > Garden Tools",
                unit_volume_liters=10.0, season_peak_day=160,
                materials=("Galvanized", "Recycled", "Brass", "Expandable")),
    # Fashion
    Subcategory("Fashion", "Women", ("Dress", "Blouse", "Cardigan", "Skirt", "Trench Coat", "Jeans"),
                49, 1.3, ("a flattering cut", "soft stretch fabric", "hidden pockets", "a relaxed drape"),
                ("womenswear", "style", "clothing"), "Fashion > Accessories", unit_volume_liters=2.0,
                materials=("Cotton", "Denim", "Merino", "Linen", "Cashmere", "Silk")),
    Subcategory("Fashion", "Men", ("Shirt", "Chinos", "Sweater", "Jacket", "Polo", "Jeans"),
                49, 1.2, ("a modern fit", "reinforced seams", "breathable fabric", "a clean finish"),
                ("menswear", "style", "clothing"), "Fashion > Shoes", unit_volume_liters=2.0,
                materials=("Cotton", "Denim", "Merino", "Linen", "Flannel")),
    Subcategory("Fashion", "Shoes", ("Sneakers", "Boots", "Loafers", "Sandals", "Chelsea Boots"),
                79, 0.9, ("a cushioned footbed", "a grippy sole", "a full-grain upper", "a padded collar"),
                ("footwear", "shoes", "style"), "Fashion > Accessories", unit_volume_liters=6.0,
                materials=("Leather", "Suede", "Canvas", "Knit")),
    Subcategory("Fashion", "Accessories", ("Scarf", "Belt", "Wallet", "Backpack", "Sunglasses", "Watch"),
                35, 0.9, ("a gift box", "polished hardware", "a soft lining", "a timeless design"),
                ("accessories", "gifts", "style"), "Fashion > Women", unit_volume_liters=1.5,
                materials=("Leather", "Silk", "Cashmere", "Canvas")),
    # Electronics
    Subcategory("Electronics", "Audio", ("Headphones", "Earbuds", "Bluetooth Speaker", "Soundbar", "Turntable"),
                89, 0.9, ("30-hour battery life", "active noise cancelling", "a rich bass response",
                          "multipoint pairing"), ("audio", "music", "wireless"), "Electronics > Phone Accessories",
                unit_volume_liters=3.0,
                materials=("Noise-Cancelling", "Bluetooth", "Hi-Fi", "Portable")),
    Subcategory("Electronics", "Computers", ("Laptop", "Monitor", "Keyboard", "Mouse", "Webcam", "USB Hub"),
                199, 0.9, ("a sharp IPS display", "a backlit layout", "plug-and-play setup", "a slim aluminium body"),
                ("computing", "office", "work from home"), "Electronics > Memory & Storage",
                unit_volume_liters=10.0,
                materials=("4K", "USB-C", "Mechanical", "Ergonomic", "14-inch")),
    Subcategory("Electronics", "Phones & Tablets", ("Smartphone", "Tablet", "E-Reader", "Smartwatch"),
                329, 0.7, ("an all-day battery", "a bright OLED screen", "a triple camera", "water resistance"),
                ("mobile", "gadgets", "smart devices"), "Electronics > Phone Accessories", unit_volume_liters=1.5,
                materials=("5G", "128 GB", "256 GB", "11-inch")),
    Subcategory("Electronics", "Phone Accessories", ("Phone Case", "Screen Protector", "Charging Cable",
                                                     "Power Bank", "Wireless Charger"),
                19, 0.9, ("drop protection", "fast charging", "a braided cable", "a slim profile"),
                ("accessories", "mobile", "charging"), "Electronics > Phone Accessories", unit_volume_liters=0.5,
                materials=("USB-C", "Magnetic", "Fast-Charge", "Slim")),
    Subcategory("Electronics", "Cameras", ("Mirrorless Camera", "Action Camera", "Tripod", "Camera Bag",
                                           "Instant Camera"),
                249, 0.5, ("image stabilisation", "4K video", "a weather-sealed body", "fast autofocus"),
                ("photography", "camera", "travel"), "Electronics > Memory & Storage", unit_volume_liters=4.0,
                materials=("4K", "Full-Frame", "Compact", "Carbon")),
    Subcategory("Electronics", "Memory & Storage", ("Memory Card", "External SSD", "USB Drive", "Hard Drive"),
                29, 0.5, ("high transfer speeds", "shock resistance", "encryption", "a compact shell"),
                ("storage", "backup", "data"), "Electronics > Memory & Storage", unit_volume_liters=0.3,
                materials=("128 GB", "256 GB", "1 TB", "USB-C")),
    # Beauty
    Subcategory("Beauty", "Skincare", ("Moisturizer", "Cleanser", "Serum", "Sunscreen", "Face Mask"),
                22, 1.0, ("a lightweight texture", "a fragrance-free formula", "SPF protection", "fast absorption"),
                ("skincare", "self-care", "face"), "Beauty > Skincare", repurchase_days=45,
                unit_volume_liters=0.3,
                materials=("Vitamin C", "Hyaluronic", "Aloe", "Retinol", "Niacinamide")),
    Subcategory("Beauty", "Makeup", ("Lipstick", "Mascara", "Foundation", "Eyeliner", "Blush"),
                18, 0.9, ("long-lasting colour", "a buildable finish", "smudge-proof wear", "a creamy glide"),
                ("makeup", "cosmetics", "color"), "Beauty > Skincare", repurchase_days=60, unit_volume_liters=0.2,
                materials=("Rose", "Nude", "Berry", "Coral", "Mocha")),
    Subcategory("Beauty", "Haircare", ("Shampoo", "Conditioner", "Hair Mask", "Styling Gel", "Hair Oil"),
                13, 0.8, ("a sulfate-free formula", "frizz control", "a salon finish", "colour protection"),
                ("haircare", "shampoo", "self-care"), "Beauty > Haircare", repurchase_days=35,
                unit_volume_liters=0.4,
                materials=("Argan Oil", "Coconut", "Keratin", "Tea Tree")),
    Subcategory("Beauty", "Fragrance", ("Eau de Parfum", "Eau de Toilette", "Body Mist", "Scented Candle"),
                55, 0.5, ("notes of cedar and bergamot", "a floral heart", "a long-lasting trail",
                          "a refillable bottle"), ("fragrance", "gifts", "luxury"), "Beauty > Makeup",
                unit_volume_liters=0.3, season_peak_day=350, season_strength=1.0,
                materials=("Cedar", "Rose", "Amber", "Citrus", "Vanilla")),
    # Grocery
    Subcategory("Grocery", "Coffee & Tea", ("Coffee Beans", "Ground Coffee", "Espresso Pods", "Green Tea",
                                            "Herbal Tea"),
                11, 1.0, ("a smooth finish", "notes of chocolate", "ethically sourced leaves", "a fresh roast date"),
                ("coffee", "tea", "breakfast"), "Grocery > Snacks", repurchase_days=21, unit_volume_liters=0.8,
                name_template=_GROCERY),
    Subcategory("Grocery", "Snacks", ("Granola", "Dark Chocolate", "Trail Mix", "Crackers", "Protein Bar"),
                5, 0.9, ("no added sugar", "a crunchy bite", "high protein", "simple ingredients"),
                ("snacks", "treats", "on the go"), "Grocery > Coffee & Tea", repurchase_days=14,
                unit_volume_liters=0.5, name_template=_GROCERY),
    Subcategory("Grocery", "Pantry", ("Olive Oil", "Pasta", "Basmati Rice", "Balsamic Vinegar", "Honey"),
                8, 0.9, ("cold-pressed quality", "bronze-cut texture", "a rich aroma", "small-batch production"),
                ("pantry", "cooking", "staples"), "Grocery > Pantry", repurchase_days=30, unit_volume_liters=1.0,
                name_template=_GROCERY),
    # Sports
    Subcategory("Sports", "Running", ("Running Jacket", "Running Tights", "Sports Socks", "Hydration Vest",
                                      "Headlamp"),
                39, 0.8, ("reflective details", "sweat-wicking fabric", "a secure fit", "a zipped pocket"),
                ("running", "fitness", "outdoor"), "Fashion > Shoes", unit_volume_liters=1.5,
                materials=("Merino", "Ripstop", "Recycled", "Seamless")),
    Subcategory("Sports", "Cycling", ("Bike Helmet", "Bike Light", "Cycling Gloves", "Bike Lock", "Saddle Bag"),
                45, 0.6, ("a USB-rechargeable light", "certified protection", "a quick-release mount", "padded palms"),
                ("cycling", "commute", "outdoor"), "Sports > Cycling", unit_volume_liters=4.0,
                materials=("Carbon", "Aluminium", "Reflective", "Gel")),
    Subcategory("Sports", "Yoga & Fitness", ("Yoga Mat", "Dumbbell Set", "Resistance Bands", "Foam Roller",
                                             "Kettlebell"),
                32, 0.7, ("a non-slip surface", "extra cushioning", "a carry strap", "coated grips"),
                ("fitness", "yoga", "home workout"), "Sports > Yoga & Fitness", unit_volume_liters=8.0,
                season_peak_day=12, season_strength=0.8,
                materials=("Cork", "Neoprene", "Natural Rubber", "Cast Iron")),
    Subcategory("Sports", "Camping", ("Tent", "Sleeping Bag", "Camping Stove", "Lantern", "Cooler Box"),
                89, 0.6, ("a waterproof flysheet", "a compact pack size", "a three-season rating", "quick pitching"),
                ("camping", "outdoor", "summer"), "Sports > Camping", unit_volume_liters=25.0,
                season_peak_day=190, season_strength=1.2,
                materials=("Ripstop", "Down", "Aluminium", "Canvas")),
    # Kids
    Subcategory("Kids", "Toys", ("Building Blocks", "Puzzle", "Plush Bear", "Toy Car", "Board Game", "Doll"),
                25, 1.1, ("rounded edges", "bright colours", "hours of play", "non-toxic paints"),
                ("toys", "gifts", "play"), "Kids > Kids' Books", unit_volume_liters=4.0),
    Subcategory("Kids", "Baby Care", ("Diapers", "Baby Wipes", "Baby Lotion", "Baby Shampoo"),
                15, 0.7, ("gentle care for delicate skin", "a leak-proof fit", "a fragrance-free formula",
                          "a dermatologically tested formula"), ("baby", "care", "essentials"), "Kids > Baby Care",
                repurchase_days=20, unit_volume_liters=3.0, season_strength=0.0),
    Subcategory("Kids", "Kids' Books", ("Picture Book", "Activity Book", "Bedtime Stories", "Sticker Book"),
                10, 0.6, ("beautiful illustrations", "read-aloud rhymes", "sturdy board pages", "fun activities"),
                ("kids books", "reading", "gifts"), "Kids > Toys", unit_volume_liters=0.8,
                materials=("Board Book", "Paperback", "Hardcover")),
    # Pets
    Subcategory("Pets", "Pet Food", ("Dry Dog Food", "Wet Cat Food", "Dog Treats", "Cat Treats", "Cat Litter"),
                24, 0.9, ("real meat as the first ingredient", "added vitamins", "easy digestion",
                          "no artificial colours"), ("pet food", "dogs", "cats"), "Pets > Pet Supplies",
                repurchase_days=28, unit_volume_liters=5.0, name_template=_GROCERY),
    Subcategory("Pets", "Pet Supplies", ("Dog Bed", "Cat Tree", "Leash", "Pet Bowl", "Scratching Post",
                                         "Chew Toy"),
                27, 0.8, ("a washable cover", "chew resistance", "a non-slip base", "sturdy stitching"),
                ("pets", "dogs", "cats"), "Pets > Pet Food", unit_volume_liters=10.0,
                materials=("Plush", "Rope", "Sisal", "Orthopedic", "Ceramic")),
    # Books
    Subcategory("Books", "Fiction", ("Harbor", "Orchard", "Lighthouse", "River", "Winter", "Letters", "Garden",
                                     "Journey"),
                15, 0.9, ("a gripping plot", "unforgettable characters", "a twist you will not see coming",
                          "lyrical prose"), ("fiction", "novel", "reading"), "Books > Fiction",
                unit_volume_liters=0.8, name_template="The {adj} {noun} ({material})"),
    Subcategory("Books", "Cookbooks", ("Kitchen", "Table", "Harvest", "Bakery", "Feast"),
                25, 0.5, ("over 100 tested recipes", "step-by-step photos", "seasonal menus", "weeknight dinners"),
                ("cookbook", "recipes", "cooking"), "Home > Kitchen", unit_volume_liters=1.2,
                name_template="The {adj} {noun}: Recipes ({material})"),
    Subcategory("Books", "Travel Guides", ("Coast", "Mountains", "Islands", "Cities", "Trails"),
                20, 0.5, ("fold-out maps", "local tips", "walking itineraries", "hidden gems"),
                ("travel", "guides", "adventure"), "Fashion > Accessories", unit_volume_liters=0.8,
                name_template="{adj} {noun}: A Travel Guide ({material})"),
)

GROCERY_VARIANTS: tuple[str, ...] = ("250 g", "500 g", "1 kg", "6-pack", "12-pack", "Family Size", "Travel Size")

COLORS: tuple[str, ...] = ("Sage", "Charcoal", "Ivory", "Navy", "Terracotta", "Slate", "Ochre", "Forest", "Blush",
                           "Sand", "Graphite", "Teal")

TASTE_CLUSTERS: tuple[TasteCluster, ...] = (
    TasteCluster("home cooks", ("Home > Kitchen", "Home > Coffee Makers", "Grocery > Coffee & Tea",
                                "Grocery > Pantry", "Books > Cookbooks"),
                 0.2, (("senior", 0.3), ("family", 0.2)), orders_per_year_factor=1.1, price_sensitivity=0.1),
    TasteCluster("gardeners", ("Garden > Plants & Seeds", "Garden > Garden Tools", "Garden > Outdoor Furniture",
                               "Garden > Watering", "Home > Decor"),
                 0.0, (("senior", 0.8), ("young", -0.5), ("South", 0.3), ("Midwest", 0.2))),
    TasteCluster("tech enthusiasts", ("Electronics > Audio", "Electronics > Computers",
                                      "Electronics > Phones & Tablets", "Electronics > Phone Accessories",
                                      "Electronics > Cameras", "Electronics > Memory & Storage"),
                 0.1, (("young", 0.6), ("M", 0.6), ("F", -0.3), ("senior", -0.4), ("West", 0.2)),
                 orders_per_year_factor=0.8, price_sensitivity=-0.2),
    TasteCluster("beauty and style", ("Beauty > Skincare", "Beauty > Makeup", "Beauty > Haircare",
                                      "Beauty > Fragrance", "Fashion > Women", "Fashion > Accessories"),
                 0.1, (("F", 0.9), ("M", -0.6), ("young", 0.3)), orders_per_year_factor=1.1),
    TasteCluster("active outdoors", ("Sports > Running", "Sports > Cycling", "Sports > Yoga & Fitness",
                                     "Sports > Camping", "Fashion > Shoes", "Grocery > Snacks"),
                 0.0, (("young", 0.4), ("senior", -0.4), ("West", 0.4), ("Mountain", 0.6), ("M", 0.1))),
    TasteCluster("young parents", ("Kids > Toys", "Kids > Baby Care", "Kids > Kids' Books", "Home > Bath",
                                   "Home > Bedding", "Home > Storage"),
                 -0.2, (("family", 1.1), ("senior", -0.8), ("young", -0.2), ("F", 0.2)),
                 orders_per_year_factor=1.2, price_sensitivity=0.3),
    TasteCluster("pet lovers", ("Pets > Pet Food", "Pets > Pet Supplies", "Home > Storage", "Grocery > Snacks"),
                 -0.1, (("senior", 0.2),), orders_per_year_factor=1.1, price_sensitivity=0.2),
    TasteCluster("readers", ("Books > Fiction", "Books > Travel Guides", "Fashion > Men", "Home > Decor",
                             "Home > Coffee Makers"),
                 -0.1, (("senior", 0.5), ("Northeast", 0.3), ("M", 0.2))),
)

# (city, country, region, relative size)
CITIES: tuple[tuple[str, str, str, float], ...] = (
    ("New York", "US", "Northeast", 8.3), ("Boston", "US", "Northeast", 1.4), ("Philadelphia", "US", "Northeast", 1.6),
    ("Pittsburgh", "US", "Northeast", 0.6), ("Chicago", "US", "Midwest", 2.7), ("Minneapolis", "US", "Midwest", 0.9),
    ("Detroit", "US", "Midwest", 0.8), ("Columbus", "US", "Midwest", 0.9), ("Atlanta", "US", "South", 1.2),
    ("Miami", "US", "South", 1.0), ("Houston", "US", "South", 2.3), ("Dallas", "US", "South", 1.3),
    ("Austin", "US", "South", 1.0), ("Nashville", "US", "South", 0.7), ("Charlotte", "US", "South", 0.9),
    ("Denver", "US", "Mountain", 0.8), ("Salt Lake City", "US", "Mountain", 0.5), ("Phoenix", "US", "Mountain", 1.6),
    ("Boise", "US", "Mountain", 0.3), ("Seattle", "US", "West", 0.8), ("Portland", "US", "West", 0.7),
    ("San Francisco", "US", "West", 0.9), ("Los Angeles", "US", "West", 3.9), ("San Diego", "US", "West", 1.4),
    ("Toronto", "CA", "Canada", 2.8), ("Vancouver", "CA", "Canada", 0.7), ("Montreal", "CA", "Canada", 1.8),
)

FEMALE_FIRST_NAMES: tuple[str, ...] = (
    "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn", "Abigail", "Emily",
    "Ella", "Grace", "Chloe", "Lily", "Hannah", "Zoe", "Nora", "Maya", "Aria", "Leah", "Sarah", "Laura", "Julia",
    "Claire", "Alice", "Ruth", "Diana", "Priya", "Mei", "Sofia", "Lucia", "Fatima", "Aisha", "Ingrid", "Keiko",
)
MALE_FIRST_NAMES: tuple[str, ...] = (
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry", "Theodore", "Jack",
    "Daniel", "Samuel", "David", "Joseph", "Owen", "Ethan", "Leo", "Gabriel", "Isaac", "Thomas", "Peter",
    "Arjun", "Wei", "Mateo", "Diego", "Omar", "Yusuf", "Lars", "Kenji", "Marcus", "Andre",
)
NEUTRAL_FIRST_NAMES: tuple[str, ...] = ("Alex", "Jordan", "Taylor", "Morgan", "Riley", "Sam", "Robin", "Casey",
                                        "Quinn", "Avery", "Jamie", "Rowan")
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
    "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson",
    "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Patel", "Kim", "Chen", "Singh",
    "Novak", "Larsen", "Okafor", "Tanaka", "Rossi", "Dubois", "Schmidt", "Kowalski", "Murphy", "Cohen",
)
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net")

SUPPLIERS: tuple[str, ...] = (
    "Northwind Wholesale", "Harbor Supply Co", "Bluewater Distribution", "Summit Trading", "Prairie Goods",
    "Evergreen Logistics", "Keystone Imports", "Redwood Partners", "Silverline Supply", "Granite Wholesale",
    "Cascade Distributors", "Meridian Sourcing",
)
